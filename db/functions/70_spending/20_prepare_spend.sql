-- credits_private._prepare_spend(account, feature, units, amount, at):
-- everything check_feature, deduct_credits and reserve_credits decide before
-- touching a balance, for an account the caller may act on and whose
-- period is the current one (settled, or as of `at` for reads): the feature exists,
-- the cost (a trusted caller's amount, else the plan's override, else the
-- feature's price; 0 on unlimited plans and demo accounts; a credits_user
-- passing amount is refused with 42501), and the first refusal that
-- does not depend on the balance: account_inactive, feature_not_in_plan,
-- period_limit_reached. Raises PT404 / PT422 / 42501 for bad calls.

create or replace function credits_private._prepare_spend(account credits_private.accounts, feature text,
                                                          units jsonb, amount numeric, at timestamptz,
                                                          out credit_type text, out cost numeric,
                                                          out reason text, out is_demo boolean,
                                                          out unlimited boolean,
                                                          out period_start timestamptz,
                                                          out period_limit integer,
                                                          out period_used integer)
language plpgsql
stable
as $$
declare
  v_account credits_private.accounts := account;
  v_feature credits_private.features;
  v_rules record;
begin
  -- One statement for the feature, the plan and the plan's rules for it.
  select f as feature, coalesce(pf.enabled, false) as enabled, pf.cost_override, pf.period_limit,
         p.unlimited
  into v_rules
  from credits_private.features f
  join credits_private.plans p on p.code = v_account.plan
  left join credits_private.plan_features pf on pf.plan = p.code and pf.feature = f.code
  where f.code = _prepare_spend.feature;
  if not found then
    raise exception 'unknown feature %', credits_private._shown(feature)
      using errcode = 'PT404', hint = 'Define it with credits.upsert_feature.';
  end if;
  v_feature := v_rules.feature;
  unlimited := v_rules.unlimited;
  period_limit := v_rules.period_limit;
  cost := case when units is null or units = '{}'::jsonb then v_feature.base_cost
               else credits_private._feature_cost(v_feature, units) end;
  if amount is not null then
    -- The price is the catalog's: only a backend may name another (SPEC §2).
    if not credits_private._caller_writes_all() then
      raise exception 'a credits_user may not set the price: amount % was passed for feature %',
                      credits_private._shown(amount::text), feature
        using errcode = '42501',
              hint = 'Leave amount out: the feature''s price (and the plan''s override) applies. '
                     'Only credits_service and credits_admin may pass amount.';
    end if;
    cost := credits_private._check_amount(amount, 'amount');
  end if;

  if amount is null and v_rules.cost_override is not null then
    cost := v_rules.cost_override;
  end if;
  if unlimited or v_account.is_demo then
    cost := 0;
  end if;

  credit_type := v_feature.credit_type;
  is_demo := v_account.is_demo;
  period_start := v_account.period_start;
  if period_limit is not null then
    -- Uses counted by holds that have lapsed do not count, even before
    -- the holds are settled.
    select coalesce(max(u.used_count), 0)
           - (select count(*)
              from credits_private._lapsed_holds(v_account.account_id, v_feature.credit_type, at) h
              where h.counted_period = v_account.period_start and h.feature = v_feature.code)
    into period_used
    from credits_private.period_usage u
    where u.account_id = v_account.account_id
      and u.period_start = v_account.period_start
      and u.feature = v_feature.code;
  end if;

  reason := case
    when v_account.status <> 'active' then 'account_inactive'
    when not v_rules.enabled then 'feature_not_in_plan'
    when period_used >= period_limit then 'period_limit_reached'
  end;
end
$$;
