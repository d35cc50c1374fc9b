-- Balance events of an account nobody watches (issue 13): no
-- balance_changed rows, and every crossing still written, at the edges of
-- the balance trigger's early return for a quiet move (available above
-- zero before and after, usage below 80 % of the period's grants). A
-- debit below 80 % writes nothing; exactly 80 % is a crossing; a debit to
-- exactly zero depletes; a hold of everything depletes with nothing used,
-- and its release recovers.

BEGIN;
SELECT plan(7);
SELECT '' FROM tests.catalog();
SELECT is((SELECT count(*) FROM credits_private.event_watchers), 0::bigint, 'nobody watches');
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-05-10 12:00+00');

-- 100 credits granted in the period, spent in steps.
SELECT account_id FROM credits.open_account('uw_pro', 'pro');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('uw_pro', 'roast', amount => 79);
SELECT is(tests.kinds('uw_pro'), '{}', '79 of 100 used: a quiet move, no event');
SELECT ok FROM credits.deduct_credits('uw_pro', 'roast', amount => 1);
SELECT is(tests.kinds('uw_pro'), '{threshold_crossed:80}', 'exactly 80 of 100: threshold 80, no balance_changed');

-- A debit to exactly zero.
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('uw_pro', 'roast', amount => 20);
SELECT is(tests.kinds('uw_pro'), '{threshold_crossed:90,threshold_crossed:100,depleted}',
          'the last 20: thresholds 90 and 100, then depleted');
SELECT is((SELECT count(*) FROM credits.events WHERE account_id = 'uw_pro' AND kind = 'balance_changed'),
          0::bigint, 'no balance_changed row for an account nobody watches');

-- A hold of everything on a fresh account: depleted with nothing used
-- (0 % of the period's grants); released: recovered.
SELECT account_id FROM credits.open_account('uw_hold', 'pro');
SELECT tests.mark();
SELECT hold_id FROM credits.reserve_credits('uw_hold', 'roast', amount => 100);
SELECT is(tests.kinds('uw_hold'), '{depleted}', 'a hold of all 100, nothing used: depleted');
SELECT tests.mark();
SELECT released FROM credits.release_hold((SELECT hold_id FROM credits.holds
                                           WHERE account_id = 'uw_hold' AND status = 'held'));
SELECT is(tests.kinds('uw_hold'), '{recovered}', 'its release: recovered');

SELECT * FROM finish();
ROLLBACK;
