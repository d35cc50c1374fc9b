-- Balance events (SPEC §1 event; issue 3 "Events"): balance_changed,
-- threshold_crossed at 80 %, 90 % and 100 % (issue 17) of the period's
-- granted credits used, depleted and recovered, written by every path that
-- moves a balance and in the transaction that moved it. tests.kinds(account)
-- lists an account's events since tests.mark(), as kind or kind:threshold.
-- NOTIFY itself is tested in tests/test_events.py.
--
-- Expiry (expire_grants) and void deplete, at the sweep's time; a second
-- sweep emits nothing. Holds: reserving everything depletes (the payload
-- shows what is held), releasing recovers, a reserve and its capture are a
-- balance_changed each.

BEGIN;
SELECT plan(11);
SELECT '' FROM tests.catalog();
SELECT '' FROM credits.upsert_plan('bare');
SELECT '' FROM credits.set_plan_feature('bare', 'roast');

SELECT tests.act_as('credits_service');
-- Every account watched (SPEC §1 event; issue 13): balance_changed rows are written.
SELECT '' FROM credits.watch_events('pgtap', array['*'], null);
SELECT tests.travel('2026-05-10 12:00+00');

-- Expiry depletes, in the sweep's transaction; a second sweep emits nothing.
SELECT account_id FROM credits.open_account('ev_exp', 'bare');
SELECT grant_id FROM credits.grant_credits('ev_exp', 5, 'promo', expires_at => '2026-05-10 13:00+00');
SELECT is(tests.kinds('ev_exp'), '{balance_changed}', 'a first grant to an empty balance is not a recovery');
SELECT tests.mark();
SELECT tests.travel('2026-05-10 14:00+00');
SELECT is(grants_expired, 1, 'the sweep expires the grant') FROM credits.expire_grants();
SELECT is(tests.kinds('ev_exp'), '{balance_changed,depleted}', 'expiry: balance_changed, depleted');
SELECT is((select max(created_at) from credits.events where account_id = 'ev_exp'), '2026-05-10 14:00+00'::timestamptz,
          'written at the sweep''s time');
SELECT tests.mark();
SELECT grants_expired FROM credits.expire_grants();
SELECT is(tests.kinds('ev_exp'), '{}', 'a second sweep: no event');
SELECT tests.travel('2026-05-10 12:00+00');

-- Void depletes.
SELECT account_id FROM credits.open_account('ev_void', 'bare');
INSERT INTO tests.ids SELECT 'voided', grant_id FROM credits.grant_credits('ev_void', 4, 'admin', reason => 'goodwill');
SELECT tests.mark();
SELECT tests.act_as('credits_admin');
SELECT voided FROM credits.void_grant(tests.id('voided'), 'mistake');
SELECT tests.act_as('credits_service');
SELECT is(tests.kinds('ev_void'), '{balance_changed,depleted}', 'void: balance_changed, depleted');

-- Holds.
SELECT account_id FROM credits.open_account('ev_hold', 'bare');
SELECT grant_id FROM credits.grant_credits('ev_hold', 10, 'promo');
SELECT tests.mark();
INSERT INTO tests.reserved SELECT 'everything', * FROM credits.reserve_credits('ev_hold', 'roast', amount => 10);
SELECT is(tests.kinds('ev_hold'), '{balance_changed,depleted}', 'reserving everything: depleted');
SELECT results_eq($$select (payload ->> 'available')::numeric, (payload ->> 'held')::numeric from credits.events
                    where account_id = 'ev_hold' and kind = 'depleted'$$,
                  $$values (0::numeric, 10::numeric)$$, 'the payload shows what is held');
SELECT tests.mark();
SELECT released FROM credits.release_hold(tests.id('everything'));
SELECT is(tests.kinds('ev_hold'), '{balance_changed,recovered}', 'releasing it: recovered');
SELECT tests.mark();
SELECT hold_id FROM credits.reserve_credits('ev_hold', 'roast', amount => 4);
SELECT ok FROM credits.capture_hold((select max(hold_id) from credits.holds where account_id = 'ev_hold'));
SELECT is(tests.kinds('ev_hold'), '{balance_changed,balance_changed}',
          'a reserve and its capture: a balance_changed each (held moves, then the balance)');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
