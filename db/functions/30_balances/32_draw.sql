-- credits_private._draw(account_id, credit_type, amount, at): takes `amount`
-- from the account's grants in burn-down order (_draw_plan) and returns the
-- draws, [{"grant_id": 7, "amount": 1.5}, ...], for the ledger row. Raises
-- PT500 when the grants hold less (the balance row and its grants would
-- disagree). The caller holds the balance lock and moves the balance row.
-- deduct_credits inlines the same statement with its ledger row (its hot
-- path), and names this twin.

create or replace function credits_private._draw(account_id text, credit_type text, amount numeric, at timestamptz)
returns jsonb
language plpgsql
as $$
declare
  v_draws jsonb;
  v_drawn numeric;
begin
  with plan as (
    select d.draw_order, d.grant_id, d.take
    from credits_private._draw_plan(account_id, credit_type, amount, at) d
  ), drawn as (
    update credits_private.grants g
    set remaining = g.remaining - plan.take
    from plan
    where g.account_id = _draw.account_id and g.grant_id = plan.grant_id
    returning plan.draw_order, g.grant_id, plan.take
  )
  select coalesce(jsonb_agg(jsonb_build_object('grant_id', drawn.grant_id, 'amount', drawn.take)
                            order by drawn.draw_order), '[]'::jsonb),
         coalesce(sum(drawn.take), 0)
  into v_draws, v_drawn
  from drawn;
  if v_drawn <> amount then
    raise exception 'account % (%) could not draw % from its grants, only %', account_id, credit_type, amount,
                    v_drawn
      using errcode = 'PT500', hint = 'A broken invariant: check credits.reconciliation for this account.';
  end if;
  return v_draws;
end
$$;
