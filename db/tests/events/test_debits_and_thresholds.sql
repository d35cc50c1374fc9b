-- Balance events (SPEC §1 event; issue 3 "Events"): balance_changed,
-- threshold_crossed at 80 %, 90 % and 100 % (issue 17) of the period's
-- granted credits used, depleted and recovered, written by every path that
-- moves a balance and in the transaction that moved it. tests.kinds(account)
-- lists an account's events since tests.mark(), as kind or kind:threshold.
-- NOTIFY itself is tested in tests/test_events.py.
--
-- Debits: one balance_changed each; the 80 %, 90 % and 100 % crossings once
-- each (all, in order, when one debit passes several), exactly: a crumb left
-- of the period's credits is not 100 %; 100 % with credits of an earlier
-- period left is not depleted; depleted when nothing is left, and a refusal
-- adds only its feature_gated event. A first grant is not a recovery, a grant
-- after depletion is, and lowers the share used below a threshold, so the
-- next rise is a new crossing. A new period counts from zero again. Payloads
-- carry threshold, available, held, used_this_period and granted_this_period.

BEGIN;
SELECT plan(17);
SELECT '' FROM tests.catalog();
SELECT '' FROM credits.upsert_plan('bare');
SELECT '' FROM credits.set_plan_feature('bare', 'roast');

SELECT tests.act_as('credits_service');
-- Every account watched (SPEC §1 event; issue 13): balance_changed rows are written.
SELECT '' FROM credits.watch_events('pgtap', array['*'], null);
SELECT tests.travel('2026-05-10 12:00+00');

-- Debits on the free plan's 6 signup credits.
SELECT account_id FROM credits.open_account('ev_free');
SELECT is(tests.kinds('ev_free'), '{balance_changed}', 'opening with a signup grant: balance_changed, not recovered');
SELECT tests.mark();
SELECT (credits.deduct_credits('ev_free', 'roast')).ok FROM generate_series(1, 4);
SELECT is(tests.kinds('ev_free'), '{balance_changed,balance_changed,balance_changed,balance_changed}',
          'four debits up to 4 of 6 used (67 %): one balance_changed each');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('ev_free', 'roast');
SELECT is(tests.kinds('ev_free'), '{balance_changed,threshold_crossed:80}', '5 of 6 used (83 %): threshold 80');
SELECT results_eq(
  $$select payload from credits.events where account_id = 'ev_free' and kind = 'threshold_crossed'$$,
  $$values ('{"threshold": 80, "available": 1, "held": 0, "used_this_period": 5, "granted_this_period": 6}'::jsonb)$$,
  'the crossing''s payload: threshold, available, held, used and granted this period');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('ev_free', 'roast');
SELECT is(tests.kinds('ev_free'), '{balance_changed,threshold_crossed:90,threshold_crossed:100,depleted}',
          '6 of 6 used: threshold 90, 100, then depleted');
SELECT tests.mark();
SELECT (credits.deduct_credits('ev_free', 'roast')).ok FROM generate_series(1, 2);
SELECT is(tests.kinds('ev_free'), '{feature_gated,feature_gated}',
          'refusals: a feature_gated event each, no crossing again');

-- A grant after depletion recovers; the share falls below 80 %, so rising
-- through it again is a new crossing.
SELECT tests.mark();
SELECT grant_id FROM credits.grant_credits('ev_free', 3, 'promo');
SELECT is(tests.kinds('ev_free'), '{balance_changed,recovered}', 'a grant after depletion: recovered');
SELECT tests.mark();
SELECT (credits.deduct_credits('ev_free', 'roast')).ok FROM generate_series(1, 2);
SELECT is(tests.kinds('ev_free'), '{balance_changed,balance_changed,threshold_crossed:80}',
          '8 of 9 used (89 %) after the promo: threshold 80 again');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('ev_free', 'roast');
SELECT is(tests.kinds('ev_free'), '{balance_changed,threshold_crossed:90,threshold_crossed:100,depleted}',
          '9 of 9: 90, 100, depleted');

-- One debit through both thresholds.
SELECT account_id FROM credits.open_account('ev_pro', 'pro');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('ev_pro', 'roast', amount => 95);
SELECT is(tests.kinds('ev_pro'), '{balance_changed,threshold_crossed:80,threshold_crossed:90}',
          '95 of 100 in one debit: both thresholds, 80 first');
SELECT is((select count(distinct created_at) from credits.events
           where account_id = 'ev_pro' and event_id > (select event_id from tests.marks)), 1::bigint,
          'all three written at the debit''s time');

-- A new period counts from zero: crossing 80 % again is a new crossing.
SELECT tests.travel('2026-06-10 13:00+00');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('ev_pro', 'roast', amount => 80);
SELECT is(tests.kinds('ev_pro'),
          '{balance_changed,depleted,balance_changed,recovered,balance_changed,threshold_crossed:80}',
          'next period: the old allowance ends (depleted), the new one is issued (recovered), 80 of 100 crosses 80');
SELECT tests.travel('2026-05-10 12:00+00');

-- 100 % is exact, like 80 and 90: fractional charges leaving a crumb of the
-- period's credits are 99.92 %; the last crumb spent is the crossing.
SELECT account_id FROM credits.open_account('ev_frac', 'bare');
SELECT grant_id FROM credits.grant_credits('ev_frac', 1, 'promo');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('ev_frac', 'roast', amount => 0.9992);
SELECT is(tests.kinds('ev_frac'), '{balance_changed,threshold_crossed:80,threshold_crossed:90}',
          '0.9992 of 1 used (0.0008 left): 80 and 90, not yet 100, not depleted');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('ev_frac', 'roast', amount => 0.0008);
SELECT is(tests.kinds('ev_frac'), '{balance_changed,threshold_crossed:100,depleted}',
          'the last 0.0008: threshold 100, then depleted');
SELECT results_eq(
  $$select payload from credits.events where account_id = 'ev_frac' and kind = 'threshold_crossed'
    and payload ->> 'threshold' = '100'$$,
  $$values ('{"threshold": 100, "available": 0, "held": 0, "used_this_period": 1, "granted_this_period": 1}'::jsonb)$$,
  'the 100 % crossing''s payload');

-- 100 % of the period's credits used while credits of an earlier period are
-- left: the crossing, without depleted.
SELECT account_id FROM credits.open_account('ev_left', 'bare');
SELECT grant_id FROM credits.grant_credits('ev_left', 10, 'promo');
SELECT tests.travel('2026-06-10 13:00+00');
SELECT grant_id FROM credits.grant_credits('ev_left', 5, 'promo');
SELECT tests.mark();
SELECT ok FROM credits.deduct_credits('ev_left', 'roast', amount => 5);
SELECT is(tests.kinds('ev_left'),
          '{balance_changed,threshold_crossed:80,threshold_crossed:90,threshold_crossed:100}',
          'a new period''s 5 granted, 5 used, 10 of May left: 80, 90 and 100, not depleted');
SELECT tests.travel('2026-05-10 12:00+00');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
