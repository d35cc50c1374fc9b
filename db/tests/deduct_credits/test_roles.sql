-- deduct_credits and check_feature per actor (SPEC §3): a user deducts from
-- and checks her own account only (the ledger's actor is her JWT sub);
-- another's account, even one that does not exist, is 42501 naming it
-- (existence does not leak); the auditor may check a feature on any account
-- but not deduct; each account is charged only by its own calls.

BEGIN;
SELECT plan(12);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['alice', 'bob']) a;

-- as user alice ------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
INSERT INTO tests.charged SELECT 'alice', * FROM credits.deduct_credits('alice', 'roast');
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'alice'$$,
                  $$values (true, 1::numeric, 5::numeric)$$,
                  'alice deducts from her own account');
SELECT is((select actor from credits.ledger where transaction_id = (select transaction_id from tests.charged where label = 'alice')),
          'alice', 'the ledger row''s actor is alice''s JWT sub');
SELECT results_eq($$select allowed, available from credits.check_feature('alice', 'roast')$$,
                  $$values (true, 5::numeric)$$,
                  'alice checks a feature on her own account');
SELECT throws_ok($$select * from credits.deduct_credits('bob', 'roast')$$, '42501', 'caller may not act on account bob',
                 'alice may not deduct from bob''s account (42501)');
SELECT throws_ok($$select * from credits.check_feature('bob', 'roast')$$, '42501', 'caller may not act on account bob',
                 'alice may not check a feature on bob''s account (42501)');
SELECT throws_ok($$select * from credits.deduct_credits('nobody', 'roast')$$, '42501',
                 'caller may not act on account nobody',
                 'alice naming an account that does not exist gets 42501, not PT404 (existence does not leak)');

-- as user bob --------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'bob');
SELECT throws_ok($$select * from credits.deduct_credits('alice', 'roast')$$, '42501',
                 'caller may not act on account alice', 'bob may not deduct from alice''s account (42501)');
SELECT is((select charged from credits.deduct_credits('bob', 'video', '{"seconds": 4}')), 2::numeric,
          'bob deducts from his own account');

-- as auditor ---------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.deduct_credits('alice', 'roast')$$, '42501',
                 'permission denied for function deduct_credits', 'the auditor may not deduct (42501)');
SELECT results_eq($$select allowed, available from credits.check_feature('alice', 'roast')$$,
                  $$values (true, 5::numeric)$$,
                  'the auditor may check a feature on any account');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT results_eq($$select account_id, available from credits.balances where account_id in ('alice', 'bob') order by 1$$,
                  $$values ('alice'::text, 5::numeric), ('bob', 4)$$,
                  'alice and bob were each charged only by their own calls');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
