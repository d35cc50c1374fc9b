-- upsert_plan(overdraft) (issue 15; docs/contract.md, Billing depth): limits
-- keyed by known credit types, each an amount >= 0 with at most 6 decimals
-- (0 is left out: no overdraft); every other shape is PT422 naming the
-- value (PT404 an unknown credit type), and a refusal changes nothing;
-- null leaves the limits as they are.

BEGIN;
SELECT plan(11);
SELECT tests.catalog();
SELECT tests.act_as('credits_admin');
SELECT results_eq(
  $$select overdraft from credits.upsert_plan('ol_pro', monthly_allowance => '{"credits": 100}',
                                              overdraft => '{"credits": 50, "analysis": 0}')$$,
  $$values ('{"credits": 50.000000}'::jsonb)$$, 'a limit is stored as an amount; a limit of 0 is left out');
SELECT results_eq($$select overdraft from credits.upsert_plan('ol_pro', monthly_allowance => '{"credits": 100}')$$,
                  $$values ('{"credits": 50.000000}'::jsonb)$$,
                  'overdraft null (left out) leaves the limits as they are');
SELECT results_eq($$select code, overdraft from credits.plans where code in ('free', 'ol_pro') order by code$$,
                  $$values ('free'::text, '{}'::jsonb), ('ol_pro', '{"credits": 50.000000}')$$,
                  'the catalog view shows the limits; a plan without them has none ({})');
SELECT throws_ok($$select credits.upsert_plan('ol_pro', overdraft => '[50]')$$, 'PT422',
                 'overdraft must be a JSON object keyed by credit type, got [50]', 'not an object: PT422');
SELECT throws_ok($$select credits.upsert_plan('ol_pro', overdraft => '{"gold": 5}')$$, 'PT404',
                 'unknown credit type gold', 'an unknown credit type: PT404 naming it');
SELECT throws_ok($$select credits.upsert_plan('ol_pro', overdraft => '{"credits": "50"}')$$, 'PT422',
                 'overdraft for credit type credits must be a number, got "50"', 'a limit that is not a number: PT422');
SELECT throws_ok($$select credits.upsert_plan('ol_pro', overdraft => '{"credits": -1}')$$, 'PT422',
                 'overdraft for credit type credits must be above 0, got -1', 'a negative limit: PT422');
SELECT throws_ok($$select credits.upsert_plan('ol_pro', overdraft => '{"credits": 1.0000001}')$$, 'PT422',
                 'overdraft for credit type credits has more than 6 decimal places: 1.0000001',
                 'more than 6 decimals: PT422 naming the value');
SELECT throws_ok($$select credits.upsert_plan('ol_pro', overdraft => '{"credits": 1e15}')$$, 'PT422',
                 'overdraft for credit type credits is too large: 1000000000000000', 'a limit of 10^15 or more: PT422');
SELECT throws_ok($$select credits.upsert_plan('ol_pro', overdraft => 'null')$$, 'PT422',
                 'overdraft must be a JSON object keyed by credit type, got null', 'JSON null: PT422');
SELECT results_eq($$select overdraft from credits.plans where code = 'ol_pro'$$,
                  $$values ('{"credits": 50.000000}'::jsonb)$$, 'the refusals changed nothing');

SELECT * FROM finish();
ROLLBACK;
