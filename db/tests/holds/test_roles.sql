-- Holds per actor (SPEC §3): a user reserves, captures and releases her own
-- holds (the capture row's actor is her); another's hold is unknown to her
-- (PT404 naming it), another's account 42501; users may not run
-- expire_holds; the auditor may not reserve, capture or release (42501).

BEGIN;
SELECT plan(16);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts --------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['alice', 'bob']) a;

-- alice and bob ----------------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'bob');
INSERT INTO tests.reserved SELECT 'bob', * FROM credits.reserve_credits('bob', 'roast');
SELECT tests.act_as('credits_user', 'alice');
INSERT INTO tests.reserved SELECT 'alice1', * FROM credits.reserve_credits('alice', 'roast');
SELECT results_eq($$select ok, held from tests.reserved where label = 'alice1'$$, $$values (true, 1::numeric)$$,
                  'alice reserves on her own account');
INSERT INTO tests.charged SELECT 'alice1', * FROM credits.capture_hold(tests.id('alice1'));
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'alice1'$$,
                  $$values (true, 1::numeric, 5::numeric)$$,
                  'alice captures her own hold');
SELECT is((select actor from credits.ledger where transaction_id = tests.tx('alice1')),
          'alice', 'the capture row''s actor is alice');
INSERT INTO tests.reserved SELECT 'alice2', * FROM credits.reserve_credits('alice', 'video', '{"seconds": 2}');
SELECT is((select released from credits.release_hold(tests.id('alice2'))), 1::numeric,
          'alice releases her own hold');
SELECT throws_ok(format('select * from credits.capture_hold(%s)', tests.id('bob')), 'PT404',
                 format('unknown hold %s', tests.id('bob')),
                 'alice capturing bob''s hold gets PT404 (it is unknown to her)');
SELECT throws_ok(format('select * from credits.release_hold(%s)', tests.id('bob')), 'PT404',
                 format('unknown hold %s', tests.id('bob')), 'alice releasing bob''s hold gets PT404');
SELECT throws_ok($$select * from credits.reserve_credits('bob', 'roast')$$, '42501',
                 'caller may not act on account bob', 'alice may not reserve on bob''s account (42501)');
SELECT throws_ok($$select * from credits.expire_holds()$$, '42501',
                 'permission denied for function expire_holds', 'a user may not run expire_holds (42501)');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.reserve_credits('alice', 'roast')$$, '42501',
                 'permission denied for function reserve_credits', 'the auditor may not reserve (42501)');
SELECT throws_ok(format('select * from credits.capture_hold(%s)', tests.id('bob')), '42501',
                 'permission denied for function capture_hold', 'the auditor may not capture (42501)');
SELECT throws_ok(format('select * from credits.release_hold(%s)', tests.id('bob')), '42501',
                 'permission denied for function release_hold', 'the auditor may not release (42501)');
SELECT tests.act_as('credits_user', 'bob');
SELECT results_eq($$select available, held from tests.bal('bob')$$, $$values (5::numeric, 1::numeric)$$,
                  'bob''s hold is untouched by alice''s attempts (1 held)');
SELECT is((select released from credits.release_hold(tests.id('bob'))), 1::numeric, 'bob releases his own hold');

-- as superuser: what every hold left behind ---------------------------------------------------
SELECT tests.act_as_superuser();
SELECT * FROM tests.holds_are_consistent();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
