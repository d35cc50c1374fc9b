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
-- The settled read (issue 13): an account whose stored period still runs
-- and whose day's daily grants are settled (accounts.daily_until ahead, or
-- a plan without a daily allowance) and which is in no pool has nothing
-- pending that a renewal helper would add: it is answered by one query
-- over its stored rows (balances, _free_grants for available and buckets,
-- _held only where something is held). Every other account is answered by
-- credits_private._balance_rows, the same rows through the renewal helpers
-- (db/tests/get_balance/test_settled_read.sql compares the two).
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
  v_plan text;
  v_unlimited boolean;
  v_daily jsonb;
  v_types text[];
begin
  -- The catalog in one statement, apart from the account's rows: on Citus a
  -- statement of a delegated call may not join a reference table with them
  -- (docs/scale-out.md).
  select p.code, p.unlimited, p.daily_allowance,
         array(select t.code from credits_private.credit_types t order by t.code)
  into strict v_plan, v_unlimited, v_daily, v_types
  from credits_private.plans p
  where p.code = v_account.plan;
  if v_account.period_end > v_now and (v_account.daily_until > v_now or v_daily = '{}') then
    -- No pending allowance, rollover or daily grant: the stored rows are the
    -- answer. A balance with nothing held holds nothing (balances.held is
    -- what its live holds and future-dated grants hold). (select v_types):
    -- the planner sees no constant array, so a custom plan is not costed
    -- below the cached generic one and PL/pgSQL keeps the generic plan.
    return query
    select t.code,
           coalesce(g.free, 0.000000) - coalesce(b.debt, 0),
           case when b.held > 0 then credits_private._held(v_account.account_id, t.code, v_now) else 0.000000 end,
           credits_private._period_counter(b.period_granted, b.period_start, v_account.period_start),
           credits_private._period_counter(b.period_used, b.period_start, v_account.period_start),
           v_account.period_start,
           v_account.period_end,
           credits_private._next_reset_at(v_daily, t.code, v_account.timezone, v_account.period_end, v_now),
           v_plan,
           v_unlimited,
           case when b.debt > 0 then coalesce(g.buckets, '{}') || jsonb_build_object('overdraft', -b.debt)
                else coalesce(g.buckets, '{}') end,
           null::numeric,
           null::numeric
    from unnest((select v_types)) t (code)
    left join credits_private.balances b on b.account_id = v_account.account_id and b.credit_type = t.code
    left join lateral (select sum(s.free) as free, jsonb_object_agg(s.source, s.free) as buckets
                       from (select f.source, sum(f.free) as free
                             from credits_private._free_grants(v_account.account_id, t.code, v_now) f
                             group by f.source) s) g on true
    -- A member of a pool reads its slice through _balance_rows.
    where not exists (select from credits_private.pool_members m where m.account_id = v_account.account_id)
    order by t.code;
    if found then
      return;
    end if;
  end if;
  return query select * from credits_private._balance_rows(v_account, v_now);
end
$$;

comment on function credits.get_balance(text) is
  'The balance per credit type as it stands once settled: available, held, granted and used this period, the period, the next reset, the plan and the remainder per grant source; read-only.';
revoke all on function credits.get_balance(text) from public;
grant execute on function credits.get_balance(text)
  to credits_service, credits_user, credits_auditor;
