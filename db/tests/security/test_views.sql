-- Row-level security (SPEC §3) per actor, on the views: a user sees only her
-- rows in credits.ledger, balances, accounts, events, gate_events,
-- usage_daily, top_consumers, reconciliation and holds; a user without a sub
-- sees nothing and may act on nothing; the auditor sees every account's rows
-- and reads any balance, history or feature check, but may not charge,
-- grant, open or write to a view (42501 naming it). To see whose rows
-- credits.reconciliation shows, both balances are made to drift (as
-- superuser) and restored afterwards. The accounts: tests.alice_and_bob().

BEGIN;
SELECT plan(37);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.alice_and_bob();

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
SELECT throws_ok($$ SELECT * FROM credits.deduct_credits('alice', 'roast') $$, '42501',
                 'caller may not act on account alice', 'a user without a sub may not charge any account');

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
                 '42501',
                 'permission denied for view ledger', 'the auditor may not INSERT into credits.ledger');
SELECT throws_ok($$ UPDATE credits.balances SET balance = 0 $$, '42501',
                 'permission denied for view balances', 'the auditor may not UPDATE credits.balances');
SELECT throws_ok($$ DELETE FROM credits.accounts $$, '42501',
                 'permission denied for view accounts', 'the auditor may not DELETE from credits.accounts');

-- as superuser: the drift is undone ---------------------------------------------------
SELECT tests.act_as_superuser();
UPDATE credits_private.balances SET balance = balance - 1 WHERE credit_type = 'credits';

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
