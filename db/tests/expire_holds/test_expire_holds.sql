-- expire_holds() (SPEC §2 Maintenance): it returns how many holds it
-- released, settling the accounts nobody touched: the lapsed holds are
-- expired, their earmarks and per-period uses come back, an earmark on a
-- grant that ended meanwhile expires, no other ledger row is written; a
-- second run releases 0; a capture after it is hold_expired, a release 0.

BEGIN;
SELECT plan(15);
SELECT tests.catalog();
SELECT tests.hold_empty_plan();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts --------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['h_before']) a;
-- Holds that ended before the day of the sweep: it must count none of them.
INSERT INTO tests.reserved SELECT 'before1', * FROM credits.reserve_credits('h_before', 'roast');
INSERT INTO tests.reserved SELECT 'before2', * FROM credits.reserve_credits('h_before', 'roast');
SELECT ok::text FROM credits.capture_hold(tests.id('before1'));
SELECT released::text FROM credits.release_hold(tests.id('before2'));

-- expire_holds: settles accounts nobody touches ------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-11 09:00+00');
SELECT is((select count(*) from tests.holds() where status = 'held'), 0::bigint,
          'before the sweep: every earlier hold has ended');
SELECT tests.open(a) FROM unnest(array['h_sweep1', 'h_sweep2']) a;
SELECT account_id FROM credits.open_account('h_sweep3', 'hold_empty');
INSERT INTO tests.ids SELECT 'sw3_grant', grant_id
  FROM credits.grant_credits('h_sweep3', 2, 'promo', expires_at => '2026-03-11 09:02+00');
INSERT INTO tests.reserved SELECT 'sw1a', * FROM credits.reserve_credits('h_sweep1', 'roast', ttl => '5 minutes');
INSERT INTO tests.reserved SELECT 'sw1b', * FROM credits.reserve_credits('h_sweep1', 'video', '{"seconds": 4}', ttl => '5 minutes');
INSERT INTO tests.reserved SELECT 'sw2a', * FROM credits.reserve_credits('h_sweep2', 'chapter', ttl => '5 minutes');
INSERT INTO tests.reserved SELECT 'sw2b', * FROM credits.reserve_credits('h_sweep2', 'roast', amount => 2, ttl => '2 hours');
INSERT INTO tests.reserved SELECT 'sw3', * FROM credits.reserve_credits('h_sweep3', 'roast', amount => 2, ttl => '5 minutes');
SELECT is((select holds_released from credits.expire_holds()), 0, 'expire_holds before any hold lapsed releases 0');
SELECT tests.travel('2026-03-11 09:06+00');
SELECT is((select holds_released from credits.expire_holds()), 4,
          'expire_holds six minutes later releases the four holds that lapsed');
SELECT results_eq($$select hold_id, status, ended_at from tests.holds(array['h_sweep1', 'h_sweep2', 'h_sweep3'])
                    order by hold_id$$,
                  $$values (tests.id('sw1a'), 'expired'::text, '2026-03-11 09:06+00'::timestamptz),
                           (tests.id('sw1b'), 'expired', '2026-03-11 09:06+00'),
                           (tests.id('sw2a'), 'expired', '2026-03-11 09:06+00'),
                           (tests.id('sw2b'), 'held', null),
                           (tests.id('sw3'), 'expired', '2026-03-11 09:06+00')$$,
                  'the lapsed holds are expired, the 2-hour one still held');
SELECT results_eq($$select account_id, balance, held from credits.balances
                    where account_id in ('h_sweep1', 'h_sweep2') order by 1$$,
                  $$values ('h_sweep1'::text, 6::numeric, 0::numeric), ('h_sweep2', 6, 2)$$,
                  'the untouched accounts are settled: only the live hold of 2 is still held');
SELECT is((select period_remaining from credits.check_feature('h_sweep2', 'chapter')), 3,
          'the lapsed chapter''s use came back with the sweep');
SELECT is((select count(*) from credits.ledger where account_id in ('h_sweep1', 'h_sweep2') and kind <> 'grant'),
          0::bigint, 'the sweep wrote no ledger row (a lapsed hold changes no balance)');
SELECT results_eq($$select kind, amount, balance_before, balance_after, grant_id from credits.ledger
                    where account_id = 'h_sweep3' order by transaction_id$$,
                  $$values ('grant'::text, 2::numeric, 0::numeric, 2::numeric, tests.id('sw3_grant')),
                           ('expiry', -2, 2, 0, tests.id('sw3_grant'))$$,
                  'a lapsed hold on a grant that ended meanwhile: the sweep gives the earmark back and it expires');
SELECT is((select holds_released from credits.expire_holds()), 0, 'a second expire_holds releases 0');
INSERT INTO tests.charged SELECT 'sw1a', * FROM credits.capture_hold(tests.id('sw1a'));
SELECT results_eq($$select ok, reason, transaction_id, charged, available from tests.charged where label = 'sw1a'$$,
                  $$values (false, 'hold_expired'::text, null::bigint, 0::numeric, 6::numeric)$$,
                  'capture after the sweep: ok = false, reason hold_expired');
SELECT is((select released from credits.release_hold(tests.id('sw1b'))), 0::numeric,
          'release of a lapsed hold releases 0');
SELECT is((select released from credits.release_hold(tests.id('sw2b'))), 2::numeric,
          'the live 2-hour hold is released');

-- as superuser: what every hold left behind ---------------------------------------------------
SELECT tests.act_as_superuser();
SELECT * FROM tests.holds_are_consistent();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
