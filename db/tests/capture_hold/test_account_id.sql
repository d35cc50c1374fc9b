-- capture_hold and release_hold with account_id (the contract §4: the
-- hold's account, required on Citus, optional on a single node): naming the
-- hold's account captures or releases it as without; naming another account
-- is PT404 'unknown hold', as for a hold that does not exist, and leaves the
-- hold as it was.

BEGIN;
SELECT plan(7);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['ha_own', 'ha_other']) a;
INSERT INTO tests.reserved SELECT 'ha1', * FROM credits.reserve_credits('ha_own', 'roast', amount => 3);
INSERT INTO tests.reserved SELECT 'ha2', * FROM credits.reserve_credits('ha_own', 'roast', amount => 2);

SELECT throws_ok(format('select * from credits.capture_hold(%s, account_id => %L)', tests.id('ha1'), 'ha_other'),
                 'PT404', format('unknown hold %s', tests.id('ha1')),
                 'capture_hold naming another account than the hold''s is PT404, as an unknown hold');
SELECT throws_ok(format('select * from credits.release_hold(%s, %L)', tests.id('ha2'), 'ha_other'),
                 'PT404', format('unknown hold %s', tests.id('ha2')),
                 'release_hold naming another account than the hold''s is PT404, as an unknown hold');
SELECT results_eq($$select available, held from tests.bal('ha_own')$$, $$values (1::numeric, 5::numeric)$$,
                  'the refused calls left both holds as they were (5 held)');
INSERT INTO tests.charged SELECT 'ha1', * FROM credits.capture_hold(tests.id('ha1'), 2, account_id => 'ha_own');
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'ha1'$$,
                  $$values (true, 2::numeric, 2::numeric)$$,
                  'capture_hold naming the hold''s account captures it (2 of 3, the rest released)');
SELECT is((select released from credits.release_hold(tests.id('ha2'), 'ha_own')), 2::numeric,
          'release_hold naming the hold''s account releases it');
SELECT results_eq($$select available, held from tests.bal('ha_own')$$, $$values (4::numeric, 0::numeric)$$,
                  'after the capture and the release: 4 available, nothing held');
SELECT is((select count(*) from credits.ledger where account_id = 'ha_other'), 1::bigint,
          'the other account has its signup grant only');

SELECT * FROM finish();
ROLLBACK;
