-- Daily grants, settled lazily: credits.grant_daily_credits (pg_cron,
-- hourly) issues them in bulk, and an account's next mutating call issues
-- a missed one itself (credits_private._settle_daily, from
-- credits_private._settle_account), so nothing depends on the job firing.
-- Reads report a daily grant still to issue as if issued
-- (credits_private._pending_daily). One grant per account, credit type and
-- local day: the unique index grants_one_daily_per_day.

-- The local midnight that ends the local day containing `at` in time zone
-- `tz`: when a daily grant issued at `at` ends. A midnight that a DST change
-- skips follows PostgreSQL's rule (it becomes the first instant after the gap).
create or replace function credits_private._local_day_end(tz text, at timestamptz)
returns timestamptz
language sql
stable
as $$
  select ((at at time zone tz)::date + 1)::timestamp at time zone tz
$$;

-- When the credits of a credit type next renew for an account on a plan
-- with `daily_allowance`, in time zone `tz`, whose period ends at
-- `period_end`: the next local midnight where the plan has a daily allowance
-- of that type, else the period's end. get_balance's and get_quotas'
-- next_reset_at. A single expression, so it is inlined: built-ins qualified.
create or replace function credits_private._next_reset_at(daily_allowance jsonb, credit_type text, tz text,
                                                          period_end timestamptz, at timestamptz)
returns timestamptz
language sql
stable
as $$
  select case when daily_allowance OPERATOR(pg_catalog.?) credit_type
              then least(period_end, credits_private._local_day_end(tz, at))
              else period_end end
$$;

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

-- Settles an account's daily grants for the local day containing `at`: for
-- an active account, every credit type of its plan's daily allowance that
-- has no daily grant for that day gets one, ending at the next local
-- midnight; then daily_until moves to that midnight (for any status, so a
-- suspended account is not looked at again that day). The caller holds
-- the account row (FOR NO KEY UPDATE). Balance rows are locked in credit
-- type order, each before its grant is looked for, as grant_daily_credits
-- does: a grant the job committed meanwhile is seen, not issued twice.
create or replace function credits_private._settle_daily(account credits_private.accounts, at timestamptz)
returns credits_private.accounts
language plpgsql
as $$
declare
  v_day date := (at at time zone account.timezone)::date;
  v_end timestamptz := credits_private._local_day_end(account.timezone, at);
  v_allowance record;
  v_account credits_private.accounts;
begin
  if account.status = 'active' then
    for v_allowance in
      select e.key as credit_type, e.value::numeric as amount
      from credits_private.plans p, jsonb_each(p.daily_allowance) e
      where p.code = account.plan
      order by e.key
    loop
      perform credits_private._lock_balance(account.account_id, v_allowance.credit_type, at);
      if not exists (select
                     from credits_private.grants g
                     where g.account_id = account.account_id
                       and g.credit_type = v_allowance.credit_type
                       and g.source = 'daily'
                       and g.local_day = v_day) then
        perform credits_private._add_grant(
          account.account_id, v_allowance.credit_type, 'daily', v_allowance.amount, v_end, null, at,
          account.period_start,
          reason => format('daily allowance of plan %s for %s', account.plan, v_day), local_day => v_day);
      end if;
    end loop;
  end if;
  update credits_private.accounts a
  set daily_until = v_end
  where a.account_id = account.account_id
  returning a.* into v_account;
  return v_account;
end
$$;
