-- credits.get_quotas(account_id): what a UI header shows, in one call: one
-- row per feature of the account's plan (enabled in it), in code order,
-- with what check_feature would say of a call without units (cost, allowed
-- and reason, from the same rule: credits_private._quote), the period's
-- count limit, how many of it were used and how many are left (null
-- without a limit), and next_reset_at: when the row's numbers next renew.
-- For a feature with a period limit that is the period's end (its count
-- starts over); for the others, the next renewal of its credit type's
-- allowance, as get_balance reports it (the next local midnight with a
-- daily allowance, else the period's end). As the account stands once
-- settled, like get_balance; changes nothing (STABLE). Errors: PT404,
-- PT422 empty id, 42501 another user's account.
--
--   select feature, allowed, period_used, period_limit, next_reset_at from credits.get_quotas('u_42');

create or replace function credits.get_quotas(account_id text)
returns table (feature text, credit_type text, cost numeric, allowed boolean, reason text, period_limit integer,
               period_used integer, period_remaining integer, next_reset_at timestamptz)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts := credits_private._account_to_read(account_id);
  v_plan credits_private.plans;
begin
  select p.* into strict v_plan
  from credits_private.plans p
  where p.code = (credits_private._as_settled(v_account, v_now)).plan;
  return query
  select pf.feature, q.credit_type, q.cost, q.reason is null, q.reason, q.period_limit,
         case when q.period_limit is not null then q.period_used end,
         case when q.period_limit is not null then greatest(q.period_limit - q.period_used, 0) end,
         case when q.period_limit is not null then q.period_end
              else credits_private._next_reset_at(v_plan.daily_allowance, q.credit_type, v_account.timezone,
                                                  q.period_end, v_now) end
  from credits_private.plan_features pf
  cross join lateral credits_private._quote(v_account, pf.feature, '{}'::jsonb, v_now) q
  where pf.plan = v_plan.code and pf.enabled
  order by pf.feature;
end
$$;

comment on function credits.get_quotas(text) is
  'One row per feature of the account''s plan with its cost, whether it is allowed now, and its period limit, use and next reset: what a UI header shows; changes nothing.';
revoke all on function credits.get_quotas(text) from public;
grant execute on function credits.get_quotas(text) to credits_service, credits_user, credits_auditor;
