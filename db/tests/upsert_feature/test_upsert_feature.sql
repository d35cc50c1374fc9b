-- upsert_feature (SPEC §2 Catalog, §3 roles): creates a feature, returns its
-- row (defaults: credit type credits, base_cost 1, no unit rates) and
-- updates it in place when called again (one row in credits.features); every
-- invalid argument raises PT422 and an unknown credit type PT404, each naming
-- the value, and leaves no feature behind; only credits_admin may call it.
-- What a price means for an account: set_plan_feature/test_set_plan_feature.sql.

BEGIN;
SELECT plan(21);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as admin ---------------------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT code FROM credits.upsert_credit_type('tokens', 'LLM tokens');

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
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', -1)$$, 'PT422',
                 'base_cost must be above 0, got -1', 'upsert_feature refuses a negative base_cost (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0.0000001)$$, 'PT422',
                 'base_cost has more than 6 decimal places: 0.0000001',
                 'upsert_feature refuses a base_cost with 7 decimals (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 'NaN')$$, 'PT422',
                 'base_cost must be a finite number, got NaN', 'upsert_feature refuses a NaN base_cost (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', null)$$, 'PT422', 'base_cost is required',
                 'upsert_feature refuses a null base_cost (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0, '{"seconds": "fast"}')$$, 'PT422',
                 'unit rate seconds of feature cheap must be a number of 0 or more with a lower-case name: "fast"',
                 'upsert_feature refuses a unit rate that is a string (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0, '{"seconds": true}')$$, 'PT422',
                 'unit rate seconds of feature cheap must be a number of 0 or more with a lower-case name: true',
                 'upsert_feature refuses a unit rate that is a boolean (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0, '{"seconds": -0.5}')$$, 'PT422',
                 'unit rate seconds of feature cheap must be a number of 0 or more with a lower-case name: -0.5',
                 'upsert_feature refuses a negative unit rate (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0, '{"Seconds": 0.5}')$$, 'PT422',
                 'unit rate Seconds of feature cheap must be a number of 0 or more with a lower-case name: 0.5',
                 'upsert_feature refuses an upper-case unit name (PT422)');
SELECT throws_ok($$select credits.upsert_feature('cheap', 'credits', 0, '[0.5]')$$, 'PT422',
                 'unit_rates must be a JSON object, got [0.5]',
                 'upsert_feature refuses unit_rates that are not a JSON object (PT422)');
SELECT is((select count(*)::int from credits.features where code = 'cheap'), 0,
          'no refused upsert_feature left a feature behind');

-- as service, user alice and auditor: admins only ---------------------------------
SELECT tests.act_as('credits_service');
SELECT throws_ok($$select credits.upsert_feature('svc')$$, '42501', 'permission denied for function upsert_feature',
                 'credits_service may not call upsert_feature');
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select credits.upsert_feature('usr')$$, '42501', 'permission denied for function upsert_feature',
                 'credits_user may not call upsert_feature');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select credits.upsert_feature('aud')$$, '42501', 'permission denied for function upsert_feature',
                 'credits_auditor may not call upsert_feature');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
