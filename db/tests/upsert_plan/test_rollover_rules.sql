-- upsert_plan(rollover) (issue 15; docs/contract.md, Billing depth): rules
-- keyed by known credit types, each {"max": >= 0, "fraction": (0, 1]}; every
-- other shape is PT422 naming the value (PT404 an unknown credit type), and
-- a refusal changes nothing; null leaves the rules as they are.

BEGIN;
SELECT plan(11);
SELECT tests.catalog();
SELECT tests.act_as('credits_admin');
SELECT results_eq(
  $$select rollover from credits.upsert_plan('rr_pro', monthly_allowance => '{"credits": 100}',
                                             rollover => '{"credits": {"max": 100, "fraction": 0.5}}')$$,
  $$values ('{"credits": {"max": 100.000000, "fraction": 0.5}}'::jsonb)$$, 'a rule with max and fraction is stored');
SELECT results_eq($$select rollover from credits.upsert_plan('rr_pro', monthly_allowance => '{"credits": 100}')$$,
                  $$values ('{"credits": {"max": 100.000000, "fraction": 0.5}}'::jsonb)$$,
                  'rollover null (left out) leaves the rules as they are');
SELECT results_eq($$select rollover from credits.plans where code = 'free'$$, $$values ('{}'::jsonb)$$,
                  'a plan without rules rolls nothing ({}), and the catalog view shows it');
SELECT throws_ok($$select credits.upsert_plan('rr_pro', rollover => '[1]')$$, 'PT422',
                 'rollover must be a JSON object keyed by credit type, got [1]', 'not an object: PT422');
SELECT throws_ok($$select credits.upsert_plan('rr_pro', rollover => '{"gold": {"max": 1}}')$$, 'PT404',
                 'unknown credit type gold', 'an unknown credit type: PT404 naming it');
SELECT throws_ok($$select credits.upsert_plan('rr_pro', rollover => '{"credits": 5}')$$, 'PT422',
                 'the rollover rule for credit type credits must be an object with max and/or fraction, got 5',
                 'a rule that is not an object: PT422');
SELECT throws_ok($$select credits.upsert_plan('rr_pro', rollover => '{"credits": {"cap": 5}}')$$, 'PT422',
                 'the rollover rule for credit type credits must be an object with max and/or fraction, got {"cap": 5}',
                 'an unknown key in a rule: PT422');
SELECT throws_ok($$select credits.upsert_plan('rr_pro', rollover => '{"credits": {"max": -1}}')$$, 'PT422',
                 'rollover max for credit type credits must be above 0, got -1', 'a negative max: PT422');
SELECT throws_ok($$select credits.upsert_plan('rr_pro', rollover => '{"credits": {"fraction": 0}}')$$, 'PT422',
                 'rollover fraction for credit type credits must be above 0 and at most 1, got 0',
                 'fraction 0: PT422');
SELECT throws_ok($$select credits.upsert_plan('rr_pro', rollover => '{"credits": {"fraction": 1.5}}')$$, 'PT422',
                 'rollover fraction for credit type credits must be above 0 and at most 1, got 1.5',
                 'fraction above 1: PT422');
SELECT results_eq($$select rollover from credits.plans where code = 'rr_pro'$$,
                  $$values ('{"credits": {"max": 100.000000, "fraction": 0.5}}'::jsonb)$$,
                  'the refusals changed nothing');

SELECT * FROM finish();
ROLLBACK;
