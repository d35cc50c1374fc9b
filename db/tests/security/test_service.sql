-- Roles (SPEC §3), the service: it opens, grants to, charges and reads any
-- account; it may not refund, void a grant or change the catalog (42501, the
-- message naming the function); the ledger's actor is its JWT sub, else its
-- role name. The other actors: test_users.sql, test_views.sql,
-- test_append_only_ledger.sql.

BEGIN;
SELECT plan(17);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');

SELECT is((SELECT account_id FROM credits.open_account('alice')), 'alice', 'service opens alice''s account');
SELECT is((SELECT account_id FROM credits.open_account('bob')), 'bob', 'service opens bob''s account');
SELECT is((SELECT available FROM credits.grant_credits('bob', 10, 'promo')), 16::numeric,
          'service grants to any account: bob has 6 + 10');
SELECT results_eq($$ SELECT ok, charged FROM credits.deduct_credits('bob', 'roast', idempotency_key => 'bob-1') $$,
                  $$ VALUES (true, 1::numeric) $$, 'service charges bob a roast');
SELECT results_eq($$ SELECT ok, charged FROM credits.deduct_credits('bob', 'video', '{"seconds": 4}') $$,
                  $$ VALUES (true, 2::numeric) $$, 'service charges bob a 4 second video');
SELECT results_eq($$ SELECT ok, reason FROM credits.deduct_credits('bob', 'premium') $$,
                  $$ VALUES (false, 'feature_not_in_plan') $$, 'bob''s premium call is refused (a gate event for bob)');
SELECT is((SELECT available FROM credits.get_balance('alice') WHERE credit_type = 'credits'), 6::numeric,
          'service reads alice''s balance');
SELECT is((SELECT actor FROM credits.ledger WHERE account_id = 'bob' AND idempotency_key = 'bob-1'),
          'credits_service', 'the actor of a service call without a sub is the role name');

SELECT throws_ok(format('SELECT credits.refund_transaction(%s, %L)',
                        (SELECT transaction_id FROM credits.ledger WHERE account_id = 'bob' AND kind = 'debit' AND feature = 'video'),
                        'render failed'),
                 '42501',
                 'permission denied for function refund_transaction', 'service may not refund');
SELECT throws_ok(format('SELECT credits.void_grant(%s, %L)',
                        (SELECT grant_id FROM credits.ledger WHERE account_id = 'bob' AND reason IS NULL
                         AND kind = 'grant'), 'abuse'),
                 '42501', 'permission denied for function void_grant', 'service may not void a grant');
SELECT throws_ok($$ SELECT credits.upsert_credit_type('gems') $$, '42501',
                 'permission denied for function upsert_credit_type', 'service may not upsert_credit_type');
SELECT throws_ok($$ SELECT credits.upsert_feature('dance') $$, '42501',
                 'permission denied for function upsert_feature', 'service may not upsert_feature');
SELECT throws_ok($$ SELECT credits.upsert_plan('gold') $$, '42501',
                 'permission denied for function upsert_plan', 'service may not upsert_plan');
SELECT throws_ok($$ SELECT credits.set_plan_feature('free', 'premium') $$, '42501',
                 'permission denied for function set_plan_feature', 'service may not set_plan_feature');

-- as service with a sub --------------------------------------------------------------
SELECT tests.act_as('credits_service', 'backend-7');

SELECT is((SELECT ok FROM credits.deduct_credits('bob', 'roast', idempotency_key => 'bob-2')), true,
          'a service with a sub charges bob a roast');
SELECT is((SELECT actor FROM credits.ledger WHERE account_id = 'bob' AND idempotency_key = 'bob-2'),
          'backend-7', 'the actor of a service call with a sub is the sub');

SELECT tests.act_as_superuser();

SELECT is_empty('SELECT * FROM credits.reconciliation', 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
