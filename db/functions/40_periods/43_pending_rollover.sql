-- credits_private._pending_rollover(account, credit_type, at): what the
-- next mutating call's renewal would roll over of a credit type
-- (_period_rollovers of the period settling leaves), else 0. Part of
-- _pending_allowance; reads show it as the `rollover` bucket. Its twin is
-- the write in _roll_period.
--
--   select credits_private._pending_rollover(a, 'credits', credits.now()) from credits_private.accounts a;

create or replace function credits_private._pending_rollover(account credits_private.accounts, credit_type text,
                                                             at timestamptz)
returns numeric
language plpgsql
stable
as $$
begin
  return case when account.period_end > at then 0.000000
              else coalesce((select r.amount
                             from credits_private._period_rollovers(account, credits_private._as_settled(account, at)) r
                             where r.credit_type = _pending_rollover.credit_type), 0.000000) end;
end
$$;
