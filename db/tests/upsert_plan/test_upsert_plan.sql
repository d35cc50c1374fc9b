-- upsert_plan (SPEC §2 Catalog, §3 roles): creates a plan, returns its row
-- and replaces its definition when called again (one row in credits.plans);
-- a bad code or allowance raises PT422 and an allowance of an unknown credit
-- type PT404, each naming the value, and leaves no plan behind; only
-- credits_admin may call it. The default plan: test_default_plan.sql.

BEGIN;
SELECT plan(17);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as admin ---------------------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT code FROM credits.upsert_credit_type('tokens', 'LLM tokens');

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
SELECT throws_ok($$select credits.upsert_plan('gold', signup_grant => '[6]')$$, 'PT422',
                 'signup_grant must be a JSON object keyed by credit type, got [6]',
                 'upsert_plan refuses a signup_grant that is not an object (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', monthly_allowance => '"credits"')$$, 'PT422',
                 'monthly_allowance must be a JSON object keyed by credit type, got "credits"',
                 'upsert_plan refuses a monthly_allowance that is not an object (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', daily_allowance => null)$$, 'PT422',
                 'daily_allowance must be a JSON object keyed by credit type, got <NULL>',
                 'upsert_plan refuses a null daily_allowance (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', signup_grant => '{"credits": 0}')$$, 'PT422',
                 'signup_grant.credits must be above 0, got 0', 'upsert_plan refuses an allowance of 0 (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', monthly_allowance => '{"credits": -5}')$$, 'PT422',
                 'monthly_allowance.credits must be above 0, got -5',
                 'upsert_plan refuses a negative allowance (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', daily_allowance => '{"credits": "6"}')$$, 'PT422',
                 'daily_allowance.credits is required', 'upsert_plan refuses an allowance given as a string (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', signup_grant => '{"credits": 0.0000001}')$$, 'PT422',
                 'signup_grant.credits has more than 6 decimal places: 0.0000001',
                 'upsert_plan refuses an allowance with 7 decimals (PT422)');
SELECT throws_ok($$select credits.upsert_plan('gold', signup_grant => '{"gold": 6}')$$, 'PT404',
                 'unknown credit type gold', 'upsert_plan refuses an allowance of an unknown credit type (PT404)');
SELECT is((select count(*)::int from credits.plans where code = 'gold'), 0,
          'no refused upsert_plan left a plan behind');

-- as service, user alice and auditor: admins only ---------------------------------
SELECT tests.act_as('credits_service');
SELECT throws_ok($$select credits.upsert_plan('svc')$$, '42501', 'permission denied for function upsert_plan',
                 'credits_service may not call upsert_plan');
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select credits.upsert_plan('usr')$$, '42501', 'permission denied for function upsert_plan',
                 'credits_user may not call upsert_plan');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select credits.upsert_plan('aud')$$, '42501', 'permission denied for function upsert_plan',
                 'credits_auditor may not call upsert_plan');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
