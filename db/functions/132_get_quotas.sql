-- credits.get_quotas(account_id): what a UI header shows, in one call (SPEC
-- §2 Spending): one row per feature of the account's plan (as settled now,
-- a feature the plan lists as disabled included, refused with
-- feature_not_in_plan). For a call with no units: its cost, whether it is
-- allowed now and why not (check_feature decides, so both always agree),
-- the per-period count limit, the uses counted this period, what is left,
-- and when the refusal lifts: the period's end for period_limit_reached,
-- else when the feature's credit type next resets (get_balance's
-- next_reset_at). Changes nothing (STABLE). Errors: PT404, PT422, 42501.
--
--   select feature, allowed, reason, period_limit, period_used, next_reset_at from credits.get_quotas('u_42');

create or replace function credits.get_quotas(account_id text)
returns table (feature text, credit_type text, cost numeric, allowed boolean, reason text,
               period_limit integer, period_used integer, period_remaining integer,
               next_reset_at timestamptz)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts :=
    credits_private._as_settled(credits_private._account(account_id, false), v_now);
begin
  return query
  with balance as (
    select b.credit_type, b.next_reset_at from credits.get_balance(get_quotas.account_id) b
  )
  select pf.feature, q.credit_type, c.cost, c.allowed, c.reason, q.period_limit, q.period_used,
         c.period_remaining,
         case when c.reason = 'period_limit_reached' then v_account.period_end else b.next_reset_at end
  from credits_private.plan_features pf
  cross join lateral credits_private._prepare_spend(v_account, pf.feature, '{}'::jsonb, null, v_now) q
  cross join lateral credits.check_feature(get_quotas.account_id, pf.feature) c
  left join balance b on b.credit_type = q.credit_type
  where pf.plan = v_account.plan
  order by pf.feature;
end
$$;

comment on function credits.get_quotas(text) is
  'One row per feature of the account''s plan: cost of a call, allowed now or the reason (as check_feature), the period limit, uses this period, remaining, and when it resets. What a UI header shows, in one call. Read-only.';
revoke all on function credits.get_quotas(text) from public;
grant execute on function credits.get_quotas(text)
  to credits_service, credits_user, credits_auditor;
