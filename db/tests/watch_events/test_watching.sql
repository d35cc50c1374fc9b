-- credits.watch_events and credits.unwatch_events (issue 13; docs/decisions.md,
-- "Events: who pays for a notification"): an account nobody watches gets
-- its crossings, refusals and plan changes written to the outbox, and no
-- balance_changed rows; a watched account (by its id or '*') gets every
-- event. Watches lapse at watched_until, extend when made again, belong to
-- their watcher. Service and admin may watch; users and the auditor may not.
-- NOTIFY itself (sent only for watched accounts) is tested in
-- tests/test_events.py.

BEGIN;
SELECT plan(17);
SELECT '' FROM tests.catalog();
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-06-01 12:00+00');

SELECT account_id FROM credits.open_account('wa_alice');
SELECT account_id FROM credits.open_account('wa_bob');
SELECT is(tests.kinds('wa_bob'), '{}', 'nobody watches: opening with a signup grant writes no balance_changed');

SELECT is((SELECT watching FROM credits.watch_events('gw-1', array['wa_alice', 'wa_alice'], '2 minutes')), 1,
          'gw-1 watches alice (once, however often named)');
SELECT tests.mark();
SELECT (credits.deduct_credits(a, 'roast')).ok FROM unnest(array['wa_alice', 'wa_bob']) a;
SELECT is(tests.kinds('wa_alice'), '{balance_changed}', 'a debit on the watched account: balance_changed');
SELECT is(tests.kinds('wa_bob'), '{}', 'a debit on an account nobody watches: no balance_changed');

SELECT tests.mark();
SELECT (credits.deduct_credits('wa_bob', 'roast')).ok FROM generate_series(1, 5);
SELECT is(tests.kinds('wa_bob'), '{threshold_crossed:80,threshold_crossed:90,threshold_crossed:100,depleted}',
          'unwatched, its crossings are written all the same, once each');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('wa_bob', 'premium');
SELECT is(tests.kinds('wa_bob'), '{feature_gated}', 'and its refusals');

SELECT is((SELECT watching FROM credits.watch_events('gw-2', array['*'], '5 minutes')), 1,
          'gw-2 watches every account');
SELECT tests.mark();
SELECT '' FROM credits.grant_credits('wa_bob', 3, 'promo');
SELECT is(tests.kinds('wa_bob'), '{balance_changed,recovered}', 'watched through *: every event');

-- Lapsing and extending.
SELECT tests.travel('2026-06-01 12:03+00');
SELECT tests.mark();
SELECT (credits.deduct_credits(a, 'roast')).ok FROM unnest(array['wa_alice', 'wa_bob']) a;
SELECT is(tests.kinds('wa_alice'), '{balance_changed}', 'gw-1''s watch lapsed, but * of gw-2 runs till 12:05');
SELECT tests.travel('2026-06-01 12:06+00');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('wa_alice', 'roast');
SELECT is(tests.kinds('wa_alice'), '{}', 'both lapsed: no balance_changed');
SELECT is((SELECT watching FROM credits.watch_events('gw-1', array['wa_alice'], '10 minutes')), 1,
          'watching again: its lapsed rows go, the new one counts');
SELECT is((SELECT watching FROM credits.watch_events('gw-1', array['wa_alice'], '1 minute')), 1,
          'a shorter watch again does not shorten it');
SELECT tests.travel('2026-06-01 12:10+00');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('wa_alice', 'roast');
SELECT is(tests.kinds('wa_alice'), '{balance_changed}', 'still watched at 12:10 (till 12:16)');

-- Unwatching is per watcher.
SELECT '' FROM credits.watch_events('gw-3', array['wa_alice'], null);
SELECT is((SELECT unwatched FROM credits.unwatch_events('gw-1')), 1, 'gw-1 stops: its one watch ends');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('wa_alice', 'roast');
SELECT is(tests.kinds('wa_alice'), '{balance_changed,threshold_crossed:80}',
          'gw-3 still watches alice, until it unwatches (5 of her 6 used: 80 %)');

-- Bad input and roles.
SELECT throws_ok($$SELECT * FROM credits.watch_events('gw-1', array['wa_alice'], '2 days')$$, 'PT422',
                 'ttl must be between 1 second and 1 day, or null for a watch until unwatched, got 2 days',
                 'a ttl above a day is refused');
SELECT tests.act_as('credits_user', 'wa_alice');
SELECT throws_ok($$SELECT * FROM credits.watch_events('mine', array['wa_alice'])$$, '42501',
                 'permission denied for function watch_events', 'a user may not say who watches');

SELECT tests.act_as_superuser();
SELECT * FROM finish();
ROLLBACK;
