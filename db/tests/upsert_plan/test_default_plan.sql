-- The default plan (plans.is_default; issue 17 item 2; SPEC §2 upsert_plan):
-- at most one, made so by a unique index; upsert_plan(is_default => true)
-- moves the flag, an update without is_default leaves it, the default plan
-- cannot drop it (PT422 naming it), is_default => false on another plan is no
-- change, and a new plan is not the default unless told.

BEGIN;
SELECT plan(9);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.app_plans();

-- as admin: the default plan --------------------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT results_eq($$select code from credits.plans where is_default$$, $$values ('free'::text)$$,
                  'tests.catalog made free the default plan');
SELECT results_eq($$select code, is_default from credits.plans where code in ('s0_free', 's1_pro') order by code$$,
                  $$values ('s0_free'::text, false), ('s1_pro', false)$$,
                  'a new plan is not the default unless told');
SELECT results_eq($$select code, is_default from credits.upsert_plan('s0_free', signup_grant => '{"credits": 3}',
                                                                     is_default => true)$$,
                  $$values ('s0_free'::text, true)$$, 'upsert_plan(is_default => true) makes s0_free the default');
SELECT results_eq($$select code from credits.plans where is_default$$, $$values ('s0_free'::text)$$,
                  'the flag moved: free is no longer the default, there is one');
SELECT results_eq($$select is_default from credits.upsert_plan('s0_free', signup_grant => '{"credits": 3}',
                                                               description => 'Free tier')$$,
                  $$values (true)$$, 'an update without is_default leaves the flag as it is');
SELECT throws_ok($$select credits.upsert_plan('s0_free', signup_grant => '{"credits": 3}', is_default => false)$$,
                 'PT422', 'plan s0_free is the default plan: it cannot stop being the default',
                 'the default plan cannot drop the flag: PT422 naming it');
SELECT results_eq($$select code from credits.plans where is_default$$, $$values ('s0_free'::text)$$,
                  'the refusal changed nothing');
SELECT results_eq($$select is_default from credits.upsert_plan('s1_pro', monthly_allowance => '{"credits": 100}',
                                                               is_default => false)$$,
                  $$values (false)$$, 'is_default => false on another plan is no change');
SELECT tests.act_as_superuser();
SELECT throws_ok($$update credits_private.plans set is_default = true where code = 'pro'$$, '23505',
                 'duplicate key value violates unique constraint "plans_one_default"',
                 'two default plans are impossible (a unique index)');

SELECT * FROM finish();
ROLLBACK;
