-- What the account's next mutating call would issue as the daily grant of a
-- credit type for the local day containing `at`: the plan's daily
-- allowance when the account is active, its daily grants are not settled
-- for that day (accounts.daily_until) and no daily grant exists for it yet;
-- else 0. The same conditions as credits_private._settle_daily, on the
-- account as that call would leave it (credits_private._as_settled: a plan
-- that takes effect at the period's end, whose daily allowance is settled
-- afresh), so a read and the next call agree.
create or replace function credits_private._pending_daily(account credits_private.accounts, credit_type text,
                                                          at timestamptz)
returns numeric
-- PL/pgSQL, not SQL: see _pending_allowance.
language plpgsql
stable
as $$
begin
  return case when account.status <> 'active' then 0.000000
              when account.daily_until > at
                   and (account.period_end > at or (credits_private._as_settled(account, at)).plan = account.plan)
                then 0.000000
              else coalesce((select (p.daily_allowance ->> _pending_daily.credit_type)::numeric(30,6)
                             from credits_private.plans p
                             where p.code = case when account.period_end > at then account.plan
                                                 else (credits_private._as_settled(account, at)).plan end
                               and not exists (select
                                               from credits_private.grants g
                                               where g.account_id = account.account_id
                                                 and g.credit_type = _pending_daily.credit_type
                                                 and g.source = 'daily'
                                                 and g.local_day = (at at time zone account.timezone)::date)),
                            0.000000) end;
end
$$;
