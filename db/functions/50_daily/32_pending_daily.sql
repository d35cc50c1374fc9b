-- credits_private._pending_daily(account, credit_type, at): what the
-- account's next mutating call would issue as the daily grant of a credit
-- type: _daily_due of the account as that call would leave it
-- (_as_settled: a plan that takes effect at the period's end has its daily
-- allowance settled afresh), unless its daily grants are settled for the
-- day already (accounts.daily_until) on the same plan. What reads count as
-- issued; its twin is _settle_daily, so a read and the next call agree.
--
--   select credits_private._pending_daily(a, 'credits', credits.now()) from credits_private.accounts a;

create or replace function credits_private._pending_daily(account credits_private.accounts, credit_type text,
                                                          at timestamptz)
returns numeric
-- PL/pgSQL, not SQL: see _daily_due.
language plpgsql
stable
as $$
declare
  v_settled credits_private.accounts := case when account.period_end > at then account
                                             else credits_private._as_settled(account, at) end;
begin
  if account.daily_until > at and v_settled.plan = account.plan then
    return 0.000000;
  end if;
  return credits_private._daily_due(v_settled, credit_type, at);
end
$$;
