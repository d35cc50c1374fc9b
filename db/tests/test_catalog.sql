-- The catalog: upsert_credit_type, upsert_feature, upsert_plan and
-- set_plan_feature (SPEC §2 Catalog, §3 roles).
--
-- Happy paths: each function creates a row, returns it, and updates it in
-- place when called again (one row in the catalog views credits.credit_types,
-- features, plans, plan_features). A feature's cost is base_cost plus the unit
-- rates times the units, rounded UP to 6 decimals, seen through check_feature
-- on an account; a plan's cost_override replaces it; a feature is in a plan
-- only once set_plan_feature enabled it. Every invalid argument raises PT422,
-- every unknown credit type, plan or feature PT404. Only credits_admin may
-- change the catalog: credits_service, credits_user and credits_auditor get
-- 42501 (they may still read the catalog views).

BEGIN;
SELECT plan(71);
SELECT '' FROM tests.catalog();  -- '' rather than the SQL function's null: TAP lines must be text
SELECT tests.travel('2026-03-10 12:00+00')::text;

-- as admin ---------------------------------------------------------------------
SELECT tests.act_as('credits_admin');

-- upsert_credit_type
SELECT results_eq(
  $$select code, description from credits.upsert_credit_type('tokens', 'Token credits')$$,
  $$values ('tokens'::text, 'Token credits'::text)$$,
  'upsert_credit_type creates a credit type and returns its row');
SELECT is((select created_at from credits.credit_types where code = 'tokens'),
          '2026-03-10 12:00+00'::timestamptz,
          'a new credit type is stamped with credits.now() (SPEC: every function reads the clock through it)');
SELECT results_eq(
  $$select code, description from credits.upsert_credit_type('tokens', 'LLM tokens')$$,
  $$values ('tokens'::text, 'LLM tokens'::text)$$,
  'upsert_credit_type on an existing code returns the updated row');
SELECT results_eq(
  $$select code, description from credits.credit_types where code = 'tokens'$$,
  $$values ('tokens'::text, 'LLM tokens'::text)$$,
  'upsert_credit_type updates in place: one row in credits.credit_types, new description');
SELECT throws_ok($$select credits.upsert_credit_type('Tokens')$$, 'PT422', 'invalid credit type code Tokens',
                 'upsert_credit_type refuses an upper-case code (PT422)');
SELECT throws_ok($$select credits.upsert_credit_type('9lives')$$, 'PT422', 'invalid credit type code 9lives',
                 'upsert_credit_type refuses a code starting with a digit (PT422)');
SELECT throws_ok($$select credits.upsert_credit_type('')$$, 'PT422', 'invalid credit type code ',
                 'upsert_credit_type refuses an empty code (PT422)');
SELECT throws_ok($$select credits.upsert_credit_type(null)$$, 'PT422', 'invalid credit type code null',
                 'upsert_credit_type refuses a null code (PT422)');

-- upsert_feature
SELECT results_eq(
  $$select code, credit_type, base_cost, unit_rates, description
    from credits.upsert_feature('summarize', 'tokens', 0.5, '{"pages": 0.25}', 'Summaries')$$,
  $$values ('summarize'::text, 'tokens'::text, 0.5::numeric, '{"pages": 0.25}'::jsonb, 'Summaries'::text)$$,
  'upsert_feature creates a feature and returns its row');
SELECT results_eq(
  $$select credit_type, base_cost, unit_rates from credits.upsert_feature('ping')$$,
  $$values ('credits'::text, 1::numeric, '{}'::jsonb)$$,
  'upsert_feature defaults: credit type credits, base_cost 1, no unit rates');
SELECT results_eq(
  $$select code, credit_type, base_cost, unit_rates, description
    from credits.upsert_feature('summarize', 'credits', 2, '{"pages": 1}', 'Summaries v2')$$,
  $$values ('summarize'::text, 'credits'::text, 2::numeric, '{"pages": 1}'::jsonb, 'Summaries v2'::text)$$,
  'upsert_feature on an existing code returns the updated row');
SELECT results_eq(
  $$select credit_type, base_cost, unit_rates, description from credits.features where code = 'summarize'$$,
  $$values ('credits'::text, 2::numeric, '{"pages": 1}'::jsonb, 'Summaries v2'::text)$$,
  'upsert_feature updates in place: one row in credits.features with the new price');
SELECT throws_ok($$select credits.upsert_feature('Summarize')$$, 'PT422', 'invalid feature code Summarize',
                 'upsert_feature refuses an upper-case code (PT422)');
SELECT throws_ok($$select credits.upsert_feature('has space')$$, 'PT422', 'invalid feature code has space',
                 'upsert_feature refuses a code with a space (PT422)');
SELECT throws_ok($$select credits.upsert_feature('orphan', 'gold')$$, 'PT404', 'unknown credit type gold',
                 'upsert_feature refuses an unknown credit type (PT404)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', -1)$$, 'PT422', 'base_cost must be above 0, got -1',
                 'upsert_feature refuses a negative base_cost (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0.0000001)$$, 'PT422', 'base_cost has more than 6 decimal places: 0.0000001',
                 'upsert_feature refuses a base_cost with 7 decimals (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 'NaN')$$, 'PT422', 'base_cost must be a finite number, got NaN',
                 'upsert_feature refuses a NaN base_cost (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', null)$$, 'PT422', 'base_cost is required',
                 'upsert_feature refuses a null base_cost (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0, '{"seconds": "fast"}')$$, 'PT422', 'unit rate seconds of feature cheap must be a number of 0 or more with a lower-case name: "fast"',
                 'upsert_feature refuses a unit rate that is a string (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0, '{"seconds": true}')$$, 'PT422', 'unit rate seconds of feature cheap must be a number of 0 or more with a lower-case name: true',
                 'upsert_feature refuses a unit rate that is a boolean (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0, '{"seconds": -0.5}')$$, 'PT422', 'unit rate seconds of feature cheap must be a number of 0 or more with a lower-case name: -0.5',
                 'upsert_feature refuses a negative unit rate (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0, '{"Seconds": 0.5}')$$, 'PT422', 'unit rate Seconds of feature cheap must be a number of 0 or more with a lower-case name: 0.5',
                 'upsert_feature refuses an upper-case unit name (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0, '[0.5]')$$, 'PT422', 'unit_rates must be a JSON object, got [0.5]',
                 'upsert_feature refuses unit_rates that are not a JSON object (PT422)');
SELECT is((select count(*)::int from credits.features where code = 'cheap'), 0,
          'no refused upsert_feature left a feature behind');

-- upsert_plan
SELECT results_eq(
  $$select code, signup_grant, monthly_allowance, daily_allowance, unlimited, description
    from credits.upsert_plan('metered', '{"credits": 10, "tokens": 5}', '{"credits": 50}',
                             '{"tokens": 1.5}', false, 'Metered')$$,
  $$values ('metered'::text, '{"credits": 10, "tokens": 5}'::jsonb, '{"credits": 50}'::jsonb,
            '{"tokens": 1.5}'::jsonb, false, 'Metered'::text)$$,
  'upsert_plan creates a plan and returns its row');
SELECT results_eq(
  $$select signup_grant, monthly_allowance, daily_allowance, unlimited, description
    from credits.upsert_plan('metered', signup_grant => '{"credits": 20}', description => 'Metered v2')$$,
  $$values ('{"credits": 20}'::jsonb, '{}'::jsonb, '{}'::jsonb, false, 'Metered v2'::text)$$,
  'upsert_plan on an existing code replaces its definition and returns it');
SELECT results_eq(
  $$select signup_grant, monthly_allowance, daily_allowance, description from credits.plans where code = 'metered'$$,
  $$values ('{"credits": 20}'::jsonb, '{}'::jsonb, '{}'::jsonb, 'Metered v2'::text)$$,
  'upsert_plan updates in place: one row in credits.plans');
SELECT throws_ok($$select credits.upsert_plan('Gold')$$, 'PT422', 'invalid plan code Gold',
                 'upsert_plan refuses an upper-case code (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', signup_grant => '[6]')$$, 'PT422', 'signup_grant must be a JSON object keyed by credit type, got [6]',
                 'upsert_plan refuses a signup_grant that is not an object (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', monthly_allowance => '"credits"')$$, 'PT422', 'monthly_allowance must be a JSON object keyed by credit type, got "credits"',
                 'upsert_plan refuses a monthly_allowance that is not an object (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', daily_allowance => null)$$, 'PT422', 'daily_allowance must be a JSON object keyed by credit type, got <NULL>',
                 'upsert_plan refuses a null daily_allowance (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', signup_grant => '{"credits": 0}')$$, 'PT422', 'signup_grant.credits must be above 0, got 0',
                 'upsert_plan refuses an allowance of 0 (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', monthly_allowance => '{"credits": -5}')$$, 'PT422', 'monthly_allowance.credits must be above 0, got -5',
                 'upsert_plan refuses a negative allowance (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', daily_allowance => '{"credits": "6"}')$$, 'PT422', 'daily_allowance.credits is required',
                 'upsert_plan refuses an allowance given as a string (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', signup_grant => '{"credits": 0.0000001}')$$, 'PT422', 'signup_grant.credits has more than 6 decimal places: 0.0000001',
                 'upsert_plan refuses an allowance with 7 decimals (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', signup_grant => '{"gold": 6}')$$, 'PT404', 'unknown credit type gold',
                 'upsert_plan refuses an allowance of an unknown credit type (PT404)');
SELECT is((select count(*)::int from credits.plans where code = 'gold'), 0,
          'no refused upsert_plan left a plan behind');

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
SELECT throws_ok($$select credits.set_plan_feature('metered', 'micro', period_limit => -1)$$, 'PT422', 'period_limit must be 0 or more, got -1',
                 'set_plan_feature refuses a negative period_limit (PT422)');
SELECT throws_ok($$select credits.set_plan_feature('metered', 'micro', cost_override => -1)$$, 'PT422', 'cost_override must be above 0, got -1',
                 'set_plan_feature refuses a negative cost_override (PT422)');
SELECT throws_ok($$select credits.set_plan_feature('metered', 'micro', cost_override => 0.0000001)$$, 'PT422', 'cost_override has more than 6 decimal places: 0.0000001',
                 'set_plan_feature refuses a cost_override with 7 decimals (PT422)');

-- as service -------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT throws_ok($$select credits.upsert_credit_type('svc')$$, '42501', 'permission denied for function upsert_credit_type',
                 'credits_service may not call upsert_credit_type');
SELECT throws_ok($$select credits.upsert_feature('svc')$$, '42501', 'permission denied for function upsert_feature',
                 'credits_service may not call upsert_feature');
SELECT throws_ok($$select credits.upsert_plan('svc')$$, '42501', 'permission denied for function upsert_plan',
                 'credits_service may not call upsert_plan');
SELECT throws_ok($$select credits.set_plan_feature('free', 'premium')$$, '42501', 'permission denied for function set_plan_feature',
                 'credits_service may not call set_plan_feature');

-- as user alice -----------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select credits.upsert_credit_type('usr')$$, '42501', 'permission denied for function upsert_credit_type',
                 'credits_user may not call upsert_credit_type');
SELECT throws_ok($$select credits.upsert_feature('usr')$$, '42501', 'permission denied for function upsert_feature',
                 'credits_user may not call upsert_feature');
SELECT throws_ok($$select credits.upsert_plan('usr')$$, '42501', 'permission denied for function upsert_plan',
                 'credits_user may not call upsert_plan');
SELECT throws_ok($$select credits.set_plan_feature('free', 'premium')$$, '42501', 'permission denied for function set_plan_feature',
                 'credits_user may not call set_plan_feature');
SELECT results_eq(
  $$select base_cost, unit_rates from credits.features where code = 'micro'$$,
  $$values (3::numeric, '{"tokens": 0.5}'::jsonb)$$,
  'credits_user reads the catalog view credits.features');

-- as auditor --------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select credits.upsert_credit_type('aud')$$, '42501', 'permission denied for function upsert_credit_type',
                 'credits_auditor may not call upsert_credit_type');
SELECT throws_ok($$select credits.upsert_feature('aud')$$, '42501', 'permission denied for function upsert_feature',
                 'credits_auditor may not call upsert_feature');
SELECT throws_ok($$select credits.upsert_plan('aud')$$, '42501', 'permission denied for function upsert_plan',
                 'credits_auditor may not call upsert_plan');
SELECT throws_ok($$select credits.set_plan_feature('free', 'premium')$$, '42501', 'permission denied for function set_plan_feature',
                 'credits_auditor may not call set_plan_feature');
SELECT is((select enabled from credits.plan_features where plan = 'metered' and feature = 'micro'), false,
          'credits_auditor reads the catalog view credits.plan_features');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
