-- credits_private._earmark(account_id, credit_type, amount, at): earmarks
-- `amount` of the account's grants for a hold, in burn-down order
-- (_draw_plan): grants.held grows, remaining stays. Returns the earmarks,
-- [{"grant_id": 7, "amount": 1.5}, ...], and the earliest end of the
-- non-purchased grants earmarked (given_end: a hold never outlives it by
-- more than 15 minutes). The caller holds the balance lock and moves the
-- balance row's held. reserve_credits, for the member and for its pool's
-- share (_pool_hold).

create or replace function credits_private._earmark(account_id text, credit_type text, amount numeric,
                                                    at timestamptz, out earmarks jsonb,
                                                    out given_end timestamptz)
language plpgsql
as $$
begin
  with plan as (
    select d.draw_order, d.grant_id, d.take
    from credits_private._draw_plan(account_id, credit_type, amount, at) d
  ), earmarked as (
    update credits_private.grants g
    set held = g.held + plan.take
    from plan
    where g.account_id = _earmark.account_id and g.grant_id = plan.grant_id
    returning plan.draw_order, g.grant_id, plan.take, g.source, g.expires_at
  )
  select coalesce(jsonb_agg(jsonb_build_object('grant_id', e.grant_id, 'amount', e.take) order by e.draw_order),
                  '[]'::jsonb),
         min(e.expires_at) filter (where e.source <> 'purchase')
  into earmarks, given_end
  from earmarked e;
end
$$;
