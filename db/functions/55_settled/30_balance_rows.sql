-- credits_private._balance_rows(account, at): get_balance's rows for an
-- account in any state, as it stands once settled, through the renewal
-- helpers: the period settling leaves (_current_period, _as_settled), per
-- credit type _settled_balance (a pending allowance and rollover, the day's
-- daily grant), _held and the pool slice (_pool_slice). What get_balance
-- answers when its settled read does not apply (credits.get_balance), and
-- what that read is checked against (db/tests/get_balance).
--
--   select * from credits_private._balance_rows(a, credits.now()) from credits_private.accounts a where ...;

create or replace function credits_private._balance_rows(account credits_private.accounts, at timestamptz)
returns table (credit_type text, available numeric, held numeric, granted_this_period numeric,
               used_this_period numeric, period_start timestamptz, period_end timestamptz,
               next_reset_at timestamptz, plan text, unlimited boolean, buckets jsonb,
               pool_available numeric, pool_cap_remaining numeric)
language plpgsql
stable
as $$
declare
  v_period record := credits_private._current_period(account, at);
  v_plan credits_private.plans;
  -- The catalog is read apart from the account's rows: on Citus a statement
  -- of a delegated call may not join a reference table with them
  -- (docs/scale-out.md).
  v_types text[] := array(select t.code from credits_private.credit_types t order by t.code);
begin
  select p.* into strict v_plan from credits_private.plans p where p.code = (credits_private._as_settled(account, at)).plan;
  -- When its stored period has ended, the current one starts from zero
  -- with its monthly allowance (pending), and a daily grant the next
  -- mutating call would issue counts as issued.
  return query
  select t.code,
         s.available,
         credits_private._held(account.account_id, t.code, at),
         credits_private._period_counter(b.period_granted, b.period_start, v_period.period_start)
           + s.pending + s.pending_daily,
         credits_private._period_counter(b.period_used, b.period_start, v_period.period_start),
         v_period.period_start,
         v_period.period_end,
         credits_private._next_reset_at(v_plan.daily_allowance, t.code, account.timezone, v_period.period_end, at),
         v_plan.code,
         v_plan.unlimited,
         s.buckets,
         ps.spendable,
         ps.cap_remaining
  from unnest(v_types) t (code)
  cross join lateral credits_private._settled_balance(account, t.code, at) s
  left join credits_private.balances b on b.account_id = account.account_id and b.credit_type = t.code
  cross join lateral credits_private._pool_slice(account.account_id, t.code, at) ps
  order by t.code;
end
$$;
