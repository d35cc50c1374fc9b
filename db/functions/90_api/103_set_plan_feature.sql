-- credits.set_plan_feature(plan, feature, enabled, period_limit, cost_override):
-- puts a feature in a plan (or takes it out with enabled => false), with an
-- optional count limit per billing period and an optional cost that replaces
-- the feature's computed cost for this plan. A feature is in a plan only
-- once this has enabled it (deny by default). Admin only.
-- Errors: PT404 unknown plan or feature; PT422 negative limit or cost.
--
--   select * from credits.set_plan_feature('free', 'chapter', period_limit => 3);

create or replace function credits.set_plan_feature(plan text, feature text, enabled boolean default true,
                                                    period_limit integer default null,
                                                    cost_override numeric default null)
returns credits.plan_features
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row credits.plan_features;
begin
  if not exists (select from credits_private.plans p where p.code = set_plan_feature.plan) then
    raise exception 'unknown plan %', credits_private._shown(plan)
      using errcode = 'PT404', hint = 'Create it with credits.upsert_plan.';
  end if;
  if not exists (select from credits_private.features f where f.code = set_plan_feature.feature) then
    raise exception 'unknown feature %', credits_private._shown(feature)
      using errcode = 'PT404', hint = 'Define it with credits.upsert_feature.';
  end if;
  if period_limit < 0 then
    raise exception 'period_limit must be 0 or more, got %', period_limit
      using errcode = 'PT422', hint = 'Pass null for no limit.';
  end if;
  if cost_override is not null then
    perform credits_private._check_amount(cost_override, 'cost_override', allow_zero => true);
  end if;

  insert into credits_private.plan_features as pf (plan, feature, enabled, period_limit, cost_override, updated_at)
  values (plan, feature, coalesce(enabled, true), period_limit, cost_override, credits.now())
  on conflict on constraint plan_features_pkey
  do update set enabled = excluded.enabled, period_limit = excluded.period_limit,
                cost_override = excluded.cost_override, updated_at = excluded.updated_at;
  select pf.* into v_row
  from credits.plan_features pf
  where pf.plan = set_plan_feature.plan and pf.feature = set_plan_feature.feature;
  return v_row;
end
$$;

comment on function credits.set_plan_feature(text, text, boolean, integer, numeric) is
  'Puts a feature in a plan or takes it out, with an optional per-period count limit and cost override; admin only.';
revoke all on function credits.set_plan_feature(text, text, boolean, integer, numeric) from public;
grant execute on function credits.set_plan_feature(text, text, boolean, integer, numeric) to credits_admin;
