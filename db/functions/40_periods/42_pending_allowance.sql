-- credits_private._pending_allowance(account, credit_type, at): what the
-- next mutating call's opening of the current period would grant of a
-- credit type (_period_allowances of the plan settling leaves), else 0: a
-- running period, a subscriber awaiting its renewal, a suspended or closed
-- account, plus what that renewal rolls over (_pending_rollover). What reads count as granted before the period is opened; its
-- twin is _open_period.
--
--   select credits_private._pending_allowance(a, 'credits', credits.now()) from credits_private.accounts a;

create or replace function credits_private._pending_allowance(account credits_private.accounts, credit_type text,
                                                              at timestamptz)
returns numeric
-- PL/pgSQL, not SQL: a SQL function with a sub-select is not inlined, and is
-- parsed and planned again on every call; PL/pgSQL keeps its plans.
language plpgsql
stable
as $$
begin
  return case when account.period_end > at then 0.000000
              else coalesce((select a.amount
                             from credits_private._as_settled(account, at) s
                             cross join lateral credits_private._period_allowances(s.plan, s.status) a
                             where s.period_start <> account.period_start
                               and a.credit_type = _pending_allowance.credit_type), 0.000000)
                   + credits_private._pending_rollover(account, credit_type, at) end;
end
$$;
