-- Roles (SPEC §3), users alice and bob and their functions: each reads,
-- checks and charges her own account (the ledger's actor is her JWT sub),
-- never the other's (42501 naming it, even for an account that does not
-- exist: existence does not leak); no granting, opening, correcting, status
-- or catalog function (42501 naming it); no access to credits_private. Bob's
-- calls by the service: tests.alice_and_bob(alice_calls => false).

BEGIN;
SELECT plan(30);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.alice_and_bob(alice_calls => false);

-- as user alice: functions -----------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');

SELECT is((SELECT available FROM credits.get_balance('alice') WHERE credit_type = 'credits'), 6::numeric,
          'alice reads her balance');
SELECT results_eq($$ SELECT allowed, cost FROM credits.check_feature('alice', 'roast') $$,
                  $$ VALUES (true, 1::numeric) $$, 'alice checks a feature on her account');
SELECT results_eq($$ SELECT ok, charged, available FROM credits.deduct_credits('alice', 'roast',
                                                                               idempotency_key => 'alice-1') $$,
                  $$ VALUES (true, 1::numeric, 5::numeric) $$, 'alice charges her own account');
SELECT results_eq($$ SELECT ok, reason FROM credits.deduct_credits('alice', 'premium') $$,
                  $$ VALUES (false, 'feature_not_in_plan') $$, 'alice''s premium call is refused (a gate event for alice)');
SELECT is((SELECT actor FROM credits.ledger WHERE idempotency_key = 'alice-1'), 'alice',
          'the actor of a user''s debit is the JWT sub');
SELECT results_eq($$ SELECT account_id, kind, amount FROM credits.get_history('alice') ORDER BY transaction_id $$,
                  $$ VALUES ('alice', 'grant', 6::numeric), ('alice', 'debit', -1::numeric) $$,
                  'alice reads her history: her signup grant and her roast');

SELECT throws_ok($$ SELECT * FROM credits.get_balance('bob') $$, '42501',
                 'caller may not act on account bob', 'alice may not read bob''s balance');
SELECT throws_ok($$ SELECT * FROM credits.get_history('bob') $$, '42501',
                 'caller may not act on account bob', 'alice may not read bob''s history');
SELECT throws_ok($$ SELECT * FROM credits.check_feature('bob', 'roast') $$, '42501',
                 'caller may not act on account bob', 'alice may not check a feature on bob''s account');
SELECT throws_ok($$ SELECT * FROM credits.deduct_credits('bob', 'roast') $$, '42501',
                 'caller may not act on account bob', 'alice may not charge bob''s account');
SELECT throws_ok($$ SELECT * FROM credits.get_balance('nobody') $$, '42501', 'caller may not act on account nobody',
                 'alice naming an account that does not exist gets 42501, not PT404 (existence does not leak)');

SELECT throws_ok($$ SELECT credits.grant_credits('alice', 5, 'promo') $$, '42501',
                 'permission denied for function grant_credits', 'alice may not grant herself credits');
SELECT throws_ok($$ SELECT credits.purchase_credits('alice', 5, 'pay-alice-1') $$, '42501',
                 'permission denied for function purchase_credits', 'alice may not record a purchase');
SELECT throws_ok($$ SELECT credits.open_account('alice-2') $$, '42501',
                 'permission denied for function open_account', 'alice may not open an account');
SELECT throws_ok(format('SELECT credits.refund_transaction(%s, %L)',
                        (SELECT transaction_id FROM credits.ledger WHERE idempotency_key = 'alice-1'), 'undo'),
                 '42501', 'permission denied for function refund_transaction', 'alice may not refund her own debit');
SELECT throws_ok(format('SELECT credits.void_grant(%s, %L)',
                        (SELECT min(grant_id) FROM credits.ledger WHERE account_id = 'alice' AND kind = 'grant'), 'x'),
                 '42501', 'permission denied for function void_grant', 'alice may not void her grant');
SELECT throws_ok($$ SELECT credits.upsert_credit_type('gems') $$, '42501',
                 'permission denied for function upsert_credit_type', 'alice may not upsert_credit_type');
SELECT throws_ok($$ SELECT credits.upsert_feature('dance') $$, '42501',
                 'permission denied for function upsert_feature', 'alice may not upsert_feature');
SELECT throws_ok($$ SELECT credits.upsert_plan('gold') $$, '42501',
                 'permission denied for function upsert_plan', 'alice may not upsert_plan');
SELECT throws_ok($$ SELECT credits.set_plan_feature('free', 'premium') $$, '42501',
                 'permission denied for function set_plan_feature', 'alice may not set_plan_feature');
SELECT throws_ok($$ SELECT credits.set_account_status('alice', 'active', 'me') $$, '42501',
                 'permission denied for function set_account_status', 'alice may not set her account''s status');
SELECT throws_ok($$ SELECT credits.expire_grants() $$, '42501',
                 'permission denied for function expire_grants', 'alice may not run expire_grants');

SELECT throws_ok($$ SELECT * FROM credits_private.ledger_entries $$, '42501',
                 'permission denied for schema credits_private', 'alice may not read credits_private.ledger_entries');
SELECT throws_ok($$ SELECT * FROM credits_private.grants $$, '42501',
                 'permission denied for schema credits_private', 'alice may not read credits_private.grants');
SELECT throws_ok($$ SELECT * FROM credits_private.balances $$, '42501',
                 'permission denied for schema credits_private', 'alice may not read credits_private.balances');
SELECT throws_ok($$ SELECT credits_private._actor() $$, '42501',
                 'permission denied for schema credits_private', 'alice may not call a private helper');

-- as user bob: functions ------------------------------------------------------------
SELECT tests.act_as('credits_user', 'bob');

SELECT is((SELECT available FROM credits.get_balance('bob') WHERE credit_type = 'credits'), 12::numeric,
          'bob reads his balance: 16 - 1 - 2 - 1');
SELECT throws_ok($$ SELECT * FROM credits.get_balance('alice') $$, '42501',
                 'caller may not act on account alice', 'bob may not read alice''s balance');
SELECT throws_ok($$ SELECT * FROM credits.deduct_credits('alice', 'roast') $$, '42501',
                 'caller may not act on account alice', 'bob may not charge alice''s account');

SELECT tests.act_as_superuser();

SELECT is_empty('SELECT * FROM credits.reconciliation', 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
