-- set_plan_feature (SPEC §2 Catalog, §3 roles), and what the prices mean for
-- an account on the plan, seen through check_feature: a feature's cost is
-- base_cost plus the unit rates times the units, rounded UP to 6 decimals,
-- an updated price applies at once, a plan's cost_override replaces it and
-- its period_limit shows as period_remaining; a feature is in a plan only once
-- set_plan_feature enabled it (deny by default), and enabled => false takes
-- it out. Unknown plan or feature PT404, bad limits and overrides PT422; only
-- credits_admin may call it, every role reads the catalog views.

BEGIN;
SELECT plan(24);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as admin ---------------------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT code FROM credits.upsert_plan('metered', signup_grant => '{"credits": 20}', description => 'Metered v2');

-- set_plan_feature, and what the prices mean for an account
SELECT credits.upsert_feature('micro', 'credits', 0.000001, '{"tokens": 0.0000001}')::text;
SELECT results_eq(
  $$select plan, feature, enabled, period_limit, cost_override from credits.set_plan_feature('metered', 'micro')$$,
  $$values ('metered'::text, 'micro'::text, true, null::integer, null::numeric)$$,
  'set_plan_feature puts a feature in a plan and returns the row');
SELECT account_id FROM credits.open_account('acct_m', 'metered');
SELECT is((select cost from credits.check_feature('acct_m', 'micro', '{"tokens": 5}')), 0.000002::numeric,
          'cost 0.000001 + 5 * 0.0000001 = 0.0000015 is rounded up to 0.000002');
SELECT is((select cost from credits.check_feature('acct_m', 'micro', '{"tokens": 10}')), 0.000002::numeric,
          'cost 0.000001 + 10 * 0.0000001 is exactly 0.000002, not rounded further');
SELECT is((select cost from credits.check_feature('acct_m', 'micro', '{"tokens": 11}')), 0.000003::numeric,
          'cost 0.0000021 is rounded up to 0.000003');
SELECT is((select cost from credits.check_feature('acct_m', 'micro')), 0.000001::numeric,
          'without units the cost is base_cost');
SELECT is((select scale(cost) from credits.check_feature('acct_m', 'micro', '{"tokens": 1}')), 6,
          'check_feature reports the rounded cost with 6 decimal places');
SELECT set_plan_feature::text FROM credits.set_plan_feature('metered', 'chat');
SELECT is((select cost from credits.check_feature('acct_m', 'chat', '{"input_tokens": 1200, "output_tokens": 301}')),
          1.0515::numeric, 'every unit is priced at its own rate: 1200 * 0.0005 + 301 * 0.0015 = 1.0515');
SELECT credits.upsert_feature('micro', 'credits', 3, '{"tokens": 0.5}')::text;
SELECT is((select cost from credits.check_feature('acct_m', 'micro', '{"tokens": 3}')), 4.5::numeric,
          'an updated price applies at once: 3 + 3 * 0.5 = 4.5');
SELECT results_eq(
  $$select plan, feature, enabled, period_limit, cost_override
    from credits.set_plan_feature('metered', 'micro', true, 5, 0.25)$$,
  $$values ('metered'::text, 'micro'::text, true, 5, 0.25::numeric)$$,
  'set_plan_feature on an existing pair returns the updated row');
SELECT is((select count(*)::int from credits.plan_features where plan = 'metered' and feature = 'micro'), 1,
          'set_plan_feature updates in place: one row in credits.plan_features');
SELECT results_eq(
  $$select allowed, cost, period_remaining from credits.check_feature('acct_m', 'micro', '{"tokens": 3}')$$,
  $$values (true, 0.25::numeric, 5)$$,
  'the cost override replaces the whole computed cost, and the period limit shows as period_remaining');
SELECT is((select reason from credits.check_feature('acct_m', 'premium')), 'feature_not_in_plan',
          'a feature never added to the plan is not in it (deny by default)');
SELECT set_plan_feature::text FROM credits.set_plan_feature('metered', 'micro', enabled => false);
SELECT is((select reason from credits.check_feature('acct_m', 'micro')), 'feature_not_in_plan',
          'set_plan_feature(enabled => false) takes the feature out of the plan');
SELECT throws_ok($$select credits.set_plan_feature('gold', 'micro')$$, 'PT404', 'unknown plan gold',
                 'set_plan_feature refuses an unknown plan (PT404)');
SELECT throws_ok($$select credits.set_plan_feature('metered', 'teleport')$$, 'PT404', 'unknown feature teleport',
                 'set_plan_feature refuses an unknown feature (PT404)');
SELECT throws_ok($$select credits.set_plan_feature('metered', 'micro', period_limit => -1)$$, 'PT422',
                 'period_limit must be 0 or more, got -1', 'set_plan_feature refuses a negative period_limit (PT422)');
SELECT throws_ok($$select credits.set_plan_feature('metered', 'micro', cost_override => -1)$$, 'PT422',
                 'cost_override must be above 0, got -1', 'set_plan_feature refuses a negative cost_override (PT422)');
SELECT throws_ok($$select credits.set_plan_feature('metered', 'micro', cost_override => 0.0000001)$$, 'PT422',
                 'cost_override has more than 6 decimal places: 0.0000001',
                 'set_plan_feature refuses a cost_override with 7 decimals (PT422)');

-- as service, user alice and auditor: admins only ---------------------------------
SELECT tests.act_as('credits_service');
SELECT throws_ok($$select credits.set_plan_feature('free', 'premium')$$, '42501',
                 'permission denied for function set_plan_feature', 'credits_service may not call set_plan_feature');
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select credits.set_plan_feature('free', 'premium')$$, '42501',
                 'permission denied for function set_plan_feature', 'credits_user may not call set_plan_feature');
SELECT results_eq(
  $$select base_cost, unit_rates from credits.features where code = 'micro'$$,
  $$values (3::numeric, '{"tokens": 0.5}'::jsonb)$$,
  'credits_user reads the catalog view credits.features');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select credits.set_plan_feature('free', 'premium')$$, '42501',
                 'permission denied for function set_plan_feature', 'credits_auditor may not call set_plan_feature');
SELECT is((select enabled from credits.plan_features where plan = 'metered' and feature = 'micro'), false,
          'credits_auditor reads the catalog view credits.plan_features');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
