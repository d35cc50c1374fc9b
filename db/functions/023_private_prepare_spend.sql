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
              from credits_private.holds h
              where h.account_id = v_account.account_id and h.status = 'held' and h.expires_at <= at
                and h.counted_period = v_account.period_start and h.feature = v_feature.code)
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

-- credits_private._quote(account, feature, units, at): what check_feature
-- says of a call, for the stored account row (a read: nothing is settled or
-- written). The account as settling would leave it (a period that has
-- ended replaced by the current one, credits_private._as_settled) decides
-- the rules (_prepare_spend); what is available counts the allowance of a
-- period not opened yet and a daily grant the next mutating call would
-- issue as issued. reason adds insufficient_credits to _prepare_spend's
-- refusals. The one rule of check_feature and get_quotas.
create or replace function credits_private._quote(account credits_private.accounts, feature text, units jsonb,
                                                  at timestamptz,
                                                  out credit_type text, out cost numeric, out reason text,
                                                  out available numeric, out period_limit integer,
                                                  out period_used integer, out pending numeric,
                                                  out pending_daily numeric, out period_end timestamptz)
language plpgsql
stable
as $$
declare
  v_settled credits_private.accounts := credits_private._as_settled(account, at);
  v_spend record := credits_private._prepare_spend(v_settled, feature, units, null, at);
begin
  credit_type := v_spend.credit_type;
  cost := v_spend.cost;
  period_limit := v_spend.period_limit;
  period_used := v_spend.period_used;
  period_end := v_settled.period_end;
  pending := credits_private._pending_allowance(account, credit_type, at);
  pending_daily := credits_private._pending_daily(account, credit_type, at);
  available := credits_private._available(account.account_id, credit_type, at) + pending + pending_daily;
  reason := coalesce(v_spend.reason,
                     case when not v_spend.is_demo and available < cost then 'insufficient_credits' end);
end
$$;
