-- Roles and row-level security (SPEC §3), per actor, with two accounts:
--   * service: any account, but no corrections (refund, void) and no catalog;
--     the ledger's actor is its JWT sub, else its role name;
--   * user alice: her own account through get_balance, get_history,
--     check_feature and deduct_credits, never bob's (42501, even for an
--     account that does not exist); only her rows in every view; no granting,
--     opening, correcting or catalog function; no access to credits_private;
--   * user bob: the mirror image;
--   * credits_user without a sub claim: sees nothing, may act on nothing;
--   * auditor: every account's rows in the views and the read-only
--     functions, nothing that writes;
--   * admin: the corrections the service may not make;
--   * the ledger rejects UPDATE, DELETE and TRUNCATE, the superuser and the
--     owner included.
-- To see whose rows credits.reconciliation shows, both balances are made to
-- drift (as superuser) for the view checks and restored afterwards.

BEGIN;
SELECT plan(89);
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
                 '42501', 'permission denied for function refund_transaction', 'service may not refund');
SELECT throws_ok(format('SELECT credits.void_grant(%s, %L)',
                        (SELECT grant_id FROM credits.ledger WHERE account_id = 'bob' AND reason IS NULL
                         AND kind = 'grant'), 'abuse'),
                 '42501', 'permission denied for function void_grant', 'service may not void a grant');
SELECT throws_ok($$ SELECT credits.upsert_credit_type('gems') $$, '42501', 'permission denied for function upsert_credit_type', 'service may not upsert_credit_type');
SELECT throws_ok($$ SELECT credits.upsert_feature('dance') $$, '42501', 'permission denied for function upsert_feature', 'service may not upsert_feature');
SELECT throws_ok($$ SELECT credits.upsert_plan('gold') $$, '42501', 'permission denied for function upsert_plan', 'service may not upsert_plan');
SELECT throws_ok($$ SELECT credits.set_plan_feature('free', 'premium') $$, '42501', 'permission denied for function set_plan_feature',
                 'service may not set_plan_feature');

-- as service with a sub --------------------------------------------------------------
SELECT tests.act_as('credits_service', 'backend-7');

SELECT is((SELECT ok FROM credits.deduct_credits('bob', 'roast', idempotency_key => 'bob-2')), true,
          'a service with a sub charges bob a roast');
SELECT is((SELECT actor FROM credits.ledger WHERE account_id = 'bob' AND idempotency_key = 'bob-2'),
          'backend-7', 'the actor of a service call with a sub is the sub');

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

SELECT throws_ok($$ SELECT * FROM credits.get_balance('bob') $$, '42501', 'caller may not act on account bob', 'alice may not read bob''s balance');
SELECT throws_ok($$ SELECT * FROM credits.get_history('bob') $$, '42501', 'caller may not act on account bob', 'alice may not read bob''s history');
SELECT throws_ok($$ SELECT * FROM credits.check_feature('bob', 'roast') $$, '42501', 'caller may not act on account bob',
                 'alice may not check a feature on bob''s account');
SELECT throws_ok($$ SELECT * FROM credits.deduct_credits('bob', 'roast') $$, '42501', 'caller may not act on account bob',
                 'alice may not charge bob''s account');
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
SELECT throws_ok($$ SELECT credits.upsert_credit_type('gems') $$, '42501', 'permission denied for function upsert_credit_type', 'alice may not upsert_credit_type');
SELECT throws_ok($$ SELECT credits.upsert_feature('dance') $$, '42501', 'permission denied for function upsert_feature', 'alice may not upsert_feature');
SELECT throws_ok($$ SELECT credits.upsert_plan('gold') $$, '42501', 'permission denied for function upsert_plan', 'alice may not upsert_plan');
SELECT throws_ok($$ SELECT credits.set_plan_feature('free', 'premium') $$, '42501', 'permission denied for function set_plan_feature',
                 'alice may not set_plan_feature');
SELECT throws_ok($$ SELECT credits.set_account_status('alice', 'active', 'me') $$, '42501', 'permission denied for function set_account_status',
                 'alice may not set her account''s status');
SELECT throws_ok($$ SELECT credits.expire_grants() $$, '42501', 'permission denied for function expire_grants', 'alice may not run expire_grants');

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
SELECT throws_ok($$ SELECT * FROM credits.get_balance('alice') $$, '42501', 'caller may not act on account alice', 'bob may not read alice''s balance');
SELECT throws_ok($$ SELECT * FROM credits.deduct_credits('alice', 'roast') $$, '42501', 'caller may not act on account alice',
                 'bob may not charge alice''s account');

-- as superuser: both balances drift by 1, so credits.reconciliation has a row each
SELECT tests.act_as_superuser();
UPDATE credits_private.balances SET balance = balance + 1 WHERE credit_type = 'credits';

-- as user alice: views --------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');

SELECT results_eq('SELECT DISTINCT account_id FROM credits.ledger', $$ VALUES ('alice') $$,
                  'alice sees only her rows in credits.ledger');
SELECT results_eq('SELECT DISTINCT account_id FROM credits.balances', $$ VALUES ('alice') $$,
                  'alice sees only her rows in credits.balances');
SELECT results_eq('SELECT account_id FROM credits.accounts', $$ VALUES ('alice') $$,
                  'alice sees only her row in credits.accounts');
SELECT results_eq('SELECT DISTINCT account_id FROM credits.events', $$ VALUES ('alice') $$,
                  'alice sees only her rows in credits.events');
SELECT results_eq('SELECT account_id, feature FROM credits.gate_events', $$ VALUES ('alice', 'premium') $$,
                  'alice sees only her refusal in credits.gate_events');
SELECT results_eq('SELECT feature, calls, credits FROM credits.usage_daily ORDER BY feature',
                  $$ VALUES ('roast', 1::bigint, 1::numeric) $$,
                  'credits.usage_daily counts only alice''s roast (not bob''s roasts and video)');
SELECT results_eq('SELECT account_id, credits_used FROM credits.top_consumers',
                  $$ VALUES ('alice', 1::numeric) $$, 'alice sees only herself in credits.top_consumers');
SELECT results_eq('SELECT account_id FROM credits.reconciliation', $$ VALUES ('alice') $$,
                  'alice sees only her drift in credits.reconciliation');

-- as user bob: views ------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'bob');

SELECT results_eq('SELECT DISTINCT account_id FROM credits.ledger', $$ VALUES ('bob') $$,
                  'bob sees only his rows in credits.ledger');
SELECT results_eq('SELECT account_id, feature FROM credits.gate_events', $$ VALUES ('bob', 'premium') $$,
                  'bob sees only his refusal in credits.gate_events');
SELECT results_eq('SELECT account_id FROM credits.reconciliation', $$ VALUES ('bob') $$,
                  'bob sees only his drift in credits.reconciliation');

-- as credits_user without a sub claim --------------------------------------------------
SELECT tests.act_as('credits_user');

SELECT is_empty('SELECT * FROM credits.ledger', 'a user without a sub sees no ledger rows');
SELECT is_empty('SELECT * FROM credits.accounts', 'a user without a sub sees no accounts');
SELECT is_empty('SELECT * FROM credits.reconciliation', 'a user without a sub sees no reconciliation rows');
SELECT throws_ok($$ SELECT * FROM credits.get_balance('alice') $$, '42501', 'caller may not act on account alice',
                 'a user without a sub may not read any balance');
SELECT throws_ok($$ SELECT * FROM credits.deduct_credits('alice', 'roast') $$, '42501', 'caller may not act on account alice',
                 'a user without a sub may not charge any account');

-- as auditor -------------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');

SELECT results_eq('SELECT DISTINCT account_id FROM credits.ledger ORDER BY 1', $$ VALUES ('alice'), ('bob') $$,
                  'the auditor sees every account in credits.ledger');
SELECT results_eq('SELECT DISTINCT account_id FROM credits.balances ORDER BY 1', $$ VALUES ('alice'), ('bob') $$,
                  'the auditor sees every account in credits.balances');
SELECT results_eq('SELECT account_id FROM credits.accounts ORDER BY 1', $$ VALUES ('alice'), ('bob') $$,
                  'the auditor sees every account in credits.accounts');
SELECT results_eq('SELECT DISTINCT account_id FROM credits.events ORDER BY 1', $$ VALUES ('alice'), ('bob') $$,
                  'the auditor sees every account in credits.events');
SELECT results_eq('SELECT account_id FROM credits.gate_events ORDER BY 1', $$ VALUES ('alice'), ('bob') $$,
                  'the auditor sees every refusal in credits.gate_events');
SELECT results_eq('SELECT feature, calls, credits FROM credits.usage_daily ORDER BY feature',
                  $$ VALUES ('roast', 3::bigint, 3::numeric), ('video', 1::bigint, 2::numeric) $$,
                  'the auditor''s credits.usage_daily counts every account');
SELECT results_eq('SELECT account_id, credits_used, rank FROM credits.top_consumers ORDER BY rank',
                  $$ VALUES ('bob', 4::numeric, 1::bigint), ('alice', 1::numeric, 2::bigint) $$,
                  'the auditor ranks every account in credits.top_consumers');
SELECT results_eq('SELECT account_id FROM credits.reconciliation ORDER BY 1', $$ VALUES ('alice'), ('bob') $$,
                  'the auditor sees every drift in credits.reconciliation');

SELECT is((SELECT available FROM credits.get_balance('bob') WHERE credit_type = 'credits'), 12::numeric,
          'the auditor reads any balance');
SELECT is((SELECT count(*) FROM credits.get_history('alice')), 2::bigint, 'the auditor reads any history');
SELECT is((SELECT allowed FROM credits.check_feature('bob', 'roast')), true,
          'the auditor checks a feature on any account');

SELECT throws_ok($$ SELECT credits.deduct_credits('bob', 'roast') $$, '42501',
                 'permission denied for function deduct_credits', 'the auditor may not charge');
SELECT throws_ok($$ SELECT credits.grant_credits('bob', 5, 'promo') $$, '42501',
                 'permission denied for function grant_credits', 'the auditor may not grant');
SELECT throws_ok($$ SELECT credits.open_account('carol') $$, '42501',
                 'permission denied for function open_account', 'the auditor may not open an account');
SELECT throws_ok($$ INSERT INTO credits.ledger (account_id, credit_type, kind, amount) VALUES ('bob', 'credits', 'grant', 1) $$,
                 '42501', 'permission denied for view ledger', 'the auditor may not INSERT into credits.ledger');
SELECT throws_ok($$ UPDATE credits.balances SET balance = 0 $$, '42501',
                 'permission denied for view balances', 'the auditor may not UPDATE credits.balances');
SELECT throws_ok($$ DELETE FROM credits.accounts $$, '42501',
                 'permission denied for view accounts', 'the auditor may not DELETE from credits.accounts');

-- as superuser: the drift is undone ---------------------------------------------------
SELECT tests.act_as_superuser();
UPDATE credits_private.balances SET balance = balance - 1 WHERE credit_type = 'credits';

-- as admin ----------------------------------------------------------------------------
SELECT tests.act_as('credits_admin');

SELECT is((SELECT available FROM credits.refund_transaction(
             (SELECT transaction_id FROM credits.ledger WHERE account_id = 'bob' AND kind = 'debit' AND feature = 'video'),
             'render failed')), 14::numeric, 'admin refunds bob''s video: 12 + 2');
SELECT is((SELECT actor FROM credits.ledger WHERE account_id = 'bob' AND kind = 'refund'), 'credits_admin',
          'the actor of an admin refund without a sub is credits_admin');

-- as superuser: the ledger is append-only --------------------------------------------
SELECT tests.act_as_superuser();

SELECT throws_ok('UPDATE credits_private.ledger_entries SET amount = 0', '42501', 'the ledger is append-only: UPDATE is not allowed on credits ledger rows',
                 'the superuser may not UPDATE the ledger');
SELECT throws_ok('DELETE FROM credits_private.ledger_entries', '42501', 'the ledger is append-only: DELETE is not allowed on credits ledger rows',
                 'the superuser may not DELETE from the ledger');
SELECT throws_ok('TRUNCATE credits_private.ledger_entries CASCADE', '42501', 'the ledger is append-only: TRUNCATE is not allowed on credits ledger rows',
                 'the superuser may not TRUNCATE the ledger, even with CASCADE past the holds that reference it');

-- as credits_owner: UPDATE and DELETE must change nothing (its policies give
-- it no row to change; were one added, the trigger must still refuse), and
-- TRUNCATE, which no policy filters, is refused by the trigger.
CREATE TEMPORARY TABLE ledger_before ON COMMIT DROP AS SELECT * FROM credits_private.ledger_entries;
SELECT set_config('role', 'credits_owner', true);
DO $$
BEGIN
  UPDATE credits_private.ledger_entries SET amount = 0;
EXCEPTION WHEN insufficient_privilege THEN NULL;
END
$$;
DO $$
BEGIN
  DELETE FROM credits_private.ledger_entries;
EXCEPTION WHEN insufficient_privilege THEN NULL;
END
$$;
SELECT throws_ok('TRUNCATE credits_private.ledger_entries CASCADE', '42501', 'the ledger is append-only: TRUNCATE is not allowed on credits ledger rows', 'the owner may not TRUNCATE the ledger');
SELECT tests.act_as_superuser();
SELECT results_eq('SELECT * FROM credits_private.ledger_entries ORDER BY entry_id',
                  'SELECT * FROM ledger_before ORDER BY entry_id',
                  'UPDATE and DELETE as the owner changed no ledger row');

-- holds: each user sees only their own in credits.holds, the auditor every one
SELECT tests.act_as('credits_service');
SELECT '' FROM credits.reserve_credits('alice', 'roast', ttl => '1 hour');
SELECT '' FROM credits.reserve_credits('bob', 'roast', ttl => '1 hour');
SELECT tests.act_as('credits_user', 'alice');
SELECT results_eq('SELECT account_id, status FROM credits.holds', $$ VALUES ('alice', 'held') $$,
                  'alice sees only her hold in credits.holds');
SELECT tests.act_as('credits_user', 'bob');
SELECT results_eq('SELECT account_id, status FROM credits.holds', $$ VALUES ('bob', 'held') $$,
                  'bob sees only his hold in credits.holds');
SELECT tests.act_as('credits_auditor');
SELECT results_eq('SELECT account_id FROM credits.holds ORDER BY account_id', $$ VALUES ('alice'), ('bob') $$,
                  'the auditor sees every hold in credits.holds');
SELECT tests.act_as_superuser();

SELECT is_empty('SELECT * FROM credits.reconciliation', 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
