-- credits.get_balance(account_id): one row per credit type: available now
-- (ended grants not counted, even before expiry is settled; a daily grant
-- the next mutating call would issue counted as issued), held by live
-- holds (a lapsed hold holds nothing, even before it is settled), granted
-- and used this period, the period, when it next resets, the plan, and the
-- remainder per source in buckets; for a member of a pool, what it may
-- draw from the pool now (pool_available: the pool's available, at most
-- what is left of its cap) and what is left of its cap this period of the
-- pool (pool_cap_remaining; null: no cap); both null for an account in no
-- pool (credits_private._pool_slice). Changes nothing (STABLE): runs in
-- read-only transactions and on replicas. Errors: PT404, 42501.
--
--   select credit_type, available, buckets from credits.get_balance('u_42');

create or replace function credits.get_balance(account_id text)
returns table (credit_type text, available numeric, held numeric, granted_this_period numeric,
               used_this_period numeric, period_start timestamptz, period_end timestamptz,
               next_reset_at timestamptz, plan text, unlimited boolean, buckets jsonb,
               pool_available numeric, pool_cap_remaining numeric)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts := credits_private._account_to_read(account_id);
  v_period record := credits_private._current_period(v_account, v_now);
  v_plan credits_private.plans;
  -- The catalog is read apart from the account's rows: on Citus a statement
  -- of a delegated call may not join a reference table with them
  -- (docs/scale-out.md).
  v_types text[] := array(select t.code from credits_private.credit_types t order by t.code);
begin
  select p.* into strict v_plan from credits_private.plans p where p.code = (credits_private._as_settled(v_account, v_now)).plan;
  -- As the account stands once settled (credits_private._settled_balance):
  -- when its stored period has ended, the current one starts from zero
  -- with its monthly allowance (pending), and a daily grant the next
  -- mutating call would issue counts as issued.
  return query
  select t.code,
         s.available,
         credits_private._held(v_account.account_id, t.code, v_now),
         credits_private._period_counter(b.period_granted, b.period_start, v_period.period_start)
           + s.pending + s.pending_daily,
         credits_private._period_counter(b.period_used, b.period_start, v_period.period_start),
         v_period.period_start,
         v_period.period_end,
         credits_private._next_reset_at(v_plan.daily_allowance, t.code, v_account.timezone, v_period.period_end,
                                        v_now),
         v_plan.code,
         v_plan.unlimited,
         s.buckets,
         ps.spendable,
         ps.cap_remaining
  from unnest(v_types) t (code)
  cross join lateral credits_private._settled_balance(v_account, t.code, v_now) s
  left join credits_private.balances b on b.account_id = v_account.account_id and b.credit_type = t.code
  cross join lateral credits_private._pool_slice(v_account.account_id, t.code, v_now) ps
  order by t.code;
end
$$;

comment on function credits.get_balance(text) is
  'The balance per credit type as it stands once settled: available, held, granted and used this period, the period, the next reset, the plan and the remainder per grant source; read-only.';
revoke all on function credits.get_balance(text) from public;
grant execute on function credits.get_balance(text)
  to credits_service, credits_user, credits_auditor;
