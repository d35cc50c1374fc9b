-- credits.get_balance(account_id): one row per credit type: available now
-- (ended grants not counted, even before expiry is settled; a daily grant
-- the next mutating call would issue counted as issued), held by live
-- holds (a lapsed hold holds nothing, even before it is settled), granted
-- and used this period, the period, when it next resets, the plan, and the
-- remainder per source in buckets. Changes nothing (STABLE): runs in
-- read-only transactions and on replicas. Errors: PT404, 42501.
--
--   select credit_type, available, buckets from credits.get_balance('u_42');

create or replace function credits.get_balance(account_id text)
returns table (credit_type text, available numeric, held numeric, granted_this_period numeric,
               used_this_period numeric, period_start timestamptz, period_end timestamptz,
               next_reset_at timestamptz, plan text, unlimited boolean, buckets jsonb)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts := credits_private._account(account_id, false);
  v_period record := credits_private._current_period(v_account, v_now);
  v_plan text := (credits_private._as_settled(v_account, v_now)).plan;
begin
  -- As the account stands once settled: when its stored period has ended,
  -- the current one starts from zero with its monthly allowance (pending);
  -- a daily grant the next mutating call would issue counts as issued.
  return query
  select t.code,
         coalesce(g.available, 0.000000) + pending.amount + daily.amount,
         coalesce((select sum(h.amount)
                   from credits_private.holds h
                   where h.account_id = v_account.account_id and h.credit_type = t.code
                     and h.status = 'held' and h.expires_at > v_now), 0.000000),
         case when b.period_start = v_period.period_start then b.period_granted else 0.000000 end
           + pending.amount + daily.amount,
         case when b.period_start = v_period.period_start then b.period_used else 0.000000 end,
         v_period.period_start,
         v_period.period_end,
         credits_private._next_reset_at(p.daily_allowance, t.code, v_account.timezone, v_period.period_end, v_now),
         p.code,
         p.unlimited,
         coalesce(g.buckets, '{}'::jsonb)
           || case when pending.amount > 0
                   then jsonb_build_object('monthly', coalesce((g.buckets ->> 'monthly')::numeric, 0) + pending.amount)
                   else '{}'::jsonb end
           || case when daily.amount > 0
                   then jsonb_build_object('daily', coalesce((g.buckets ->> 'daily')::numeric, 0) + daily.amount)
                   else '{}'::jsonb end
  from credits_private.credit_types t
  join credits_private.plans p on p.code = v_plan
  cross join lateral (select credits_private._pending_allowance(v_account, t.code, v_now) as amount) pending
  cross join lateral (select credits_private._pending_daily(v_account, t.code, v_now) as amount) daily
  left join credits_private.balances b on b.account_id = v_account.account_id and b.credit_type = t.code
  left join lateral (
    select sum(s.free) as available, jsonb_object_agg(s.source, s.free) as buckets
    from (select f.source, sum(f.free) as free
          from credits_private._free_grants(v_account.account_id, t.code, v_now) f
          group by f.source) s
  ) g on true
  order by t.code;
end
$$;

comment on function credits.get_balance(text) is
  'Balance per credit type: available, held, granted and used this period, period bounds, next reset, plan, unlimited, and the remainder per grant source (buckets). Read-only.';
revoke all on function credits.get_balance(text) from public;
grant execute on function credits.get_balance(text)
  to credits_service, credits_user, credits_auditor;
