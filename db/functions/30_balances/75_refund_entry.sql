-- credits_private._refund_entry(debit, amount, reason, period_start, at):
-- gives `amount` of what one debit or capture ledger row charged back to
-- the grants that paid it, the last drawn first; where such a grant has
-- ended, to a new `refund` grant of the same priority that never expires.
-- Moves the balance row (period_used of the period starting period_start
-- gives it back) and writes the refund's ledger row (naming the member on
-- a pool's row). The caller holds the balance lock and has checked that
-- `amount` is refundable: refund_transaction, for a member's row and the
-- pool's row that paid the rest of the same debit.
-- A debit that went into overdraft (its ledger row's debt, migration 0015)
-- gets that part back first (it was taken last): it repays the balance's
-- debt (the refund row's debt, a draw {"overdraft": true, "amount": ..});
-- what of it a grant has repaid already goes to a new `refund` grant that
-- never expires ({"grant_id": .., "overdraft": true, "amount": ..}).

create or replace function credits_private._refund_entry(debit credits_private.ledger_entries, amount numeric,
                                                         reason text, period_start timestamptz, at timestamptz,
                                                         out refund_id bigint, out available numeric)
language plpgsql
as $$
declare
  v_balance credits_private.balances;
  v_left numeric;
  v_draw record;
  v_take numeric;
  v_target bigint;
  v_draws jsonb := '[]';
  v_overdraft numeric := 0;
  v_repaid numeric := 0;
begin
  v_left := _refund_entry.amount;
  -- The debit's overdraft part first: what of it earlier refunds (which
  -- took it first too) have not given back.
  if debit.debt > 0 then
    select least(v_left, debit.debt - least(debit.debt, coalesce(sum(r.amount), 0))) into v_overdraft
    from credits_private.ledger_entries r
    where r.account_id = debit.account_id and r.refund_of = debit.entry_id;
    select least(v_overdraft, b.debt) into v_repaid
    from credits_private.balances b
    where b.account_id = debit.account_id and b.credit_type = debit.credit_type;
    if v_repaid > 0 then
      v_draws := v_draws || jsonb_build_object('overdraft', true, 'amount', v_repaid);
    end if;
    if v_overdraft > v_repaid then
      insert into credits_private.grants
        (account_id, credit_type, source, amount, remaining, priority, starts_at, reason, created_at)
      values
        (debit.account_id, debit.credit_type, 'refund', v_overdraft - v_repaid, v_overdraft - v_repaid,
         credits_private._default_priority('refund'), at,
         format('refund of transaction %s (its overdraft has been repaid)', debit.entry_id), at)
      returning grant_id into v_target;
      v_draws := v_draws || jsonb_build_object('grant_id', v_target, 'overdraft', true,
                                               'amount', v_overdraft - v_repaid);
    end if;
    v_left := v_left - v_overdraft;
  end if;
  -- What each paying grant may still get back, last drawn first.
  for v_draw in
    select d.grant_id, d.amount - coalesce(back.amount, 0) as open_amount, g.priority,
           (g.voided_at is null and g.expired_at is null and (g.expires_at is null or g.expires_at > at))
             as live, g.expires_at
    from rows from (jsonb_to_recordset(debit.draws) as (grant_id bigint, amount numeric))
           with ordinality as d (grant_id, amount, n)
    join credits_private.grants g on g.account_id = debit.account_id and g.grant_id = d.grant_id
    left join lateral (
      select sum((x ->> 'amount')::numeric) as amount
      from credits_private.ledger_entries r, jsonb_array_elements(r.draws) x
      where r.account_id = debit.account_id and r.refund_of = debit.entry_id
        and (x ->> 'of_grant_id')::bigint = d.grant_id
    ) back on true
    order by d.n desc
  loop
    exit when v_left = 0;
    v_take := least(v_left, v_draw.open_amount);
    continue when v_take <= 0;
    if v_draw.live then
      update credits_private.grants g
      set remaining = g.remaining + v_take
      where g.account_id = debit.account_id and g.grant_id = v_draw.grant_id;
      v_target := v_draw.grant_id;
      update credits_private.balances b
      set settle_at = least(b.settle_at, v_draw.expires_at)
      where b.account_id = debit.account_id and b.credit_type = debit.credit_type;
    else
      insert into credits_private.grants
        (account_id, credit_type, source, amount, remaining, priority, starts_at, reason, created_at)
      values
        (debit.account_id, debit.credit_type, 'refund', v_take, v_take, v_draw.priority, at,
         format('refund of transaction %s (grant %s has ended)', debit.entry_id, v_draw.grant_id), at)
      returning grant_id into v_target;
    end if;
    v_draws := v_draws || jsonb_build_object('grant_id', v_target, 'of_grant_id', v_draw.grant_id,
                                             'amount', v_take);
    v_left := v_left - v_take;
  end loop;
  if v_left <> 0 then
    raise exception 'transaction % has draws that do not add up to its charge', debit.entry_id
      using errcode = 'PT500', hint = 'A broken invariant: check credits.reconciliation for this account.';
  end if;

  update credits_private.balances b
  set balance = b.balance + amount,
      debt = b.debt - v_repaid,
      period_used = case when b.period_start = _refund_entry.period_start
                         then greatest(b.period_used - amount, 0) else b.period_used end,
      updated_at = at
  where b.account_id = debit.account_id and b.credit_type = debit.credit_type
  returning b.* into v_balance;

  available := credits_private._available(debit.account_id, debit.credit_type, at);
  refund_id := credits_private._write_ledger(v_balance, 'refund', amount, at, available => available,
                                             feature => debit.feature, refund_of => debit.entry_id,
                                             draws => v_draws, reason => reason, member_id => debit.member_id,
                                             debt => -v_repaid);
end
$$;
