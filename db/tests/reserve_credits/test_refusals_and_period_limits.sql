-- reserve_credits refuses exactly like deduct_credits (SPEC §2 Spending):
-- account_inactive and feature_not_in_plan (no hold, a feature_gated event
-- each); a held chapter counts toward its period limit (chapter: 3 a period
-- on the free plan), a fourth reserve or a deduct is period_limit_reached, a
-- released one gives its use back, a captured one keeps it, and a reserve
-- refused for want of credits does not use the quota.

BEGIN;
SELECT plan(18);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts --------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['h_susp', 'h_chapter']) a;
SELECT account_id FROM credits.set_account_status('h_susp', 'suspended', 'chargeback 8812');

-- reserve_credits: refusals like deduct_credits ------------------------------------------
INSERT INTO tests.reserved SELECT 'susp', * FROM credits.reserve_credits('h_susp', 'roast');
SELECT results_eq($$select ok, reason, hold_id, held, expires_at from tests.reserved where label = 'susp'$$,
                  $$values (false, 'account_inactive'::text, null::bigint, 0::numeric, null::timestamptz)$$,
                  'reserve on a suspended account: account_inactive, no hold');
SELECT results_eq($$select feature, reason from credits.gate_events where account_id = 'h_susp'$$,
                  $$values ('roast'::text, 'account_inactive'::text)$$,
                  'the account_inactive refusal of a reserve is a feature_gated event');
INSERT INTO tests.reserved SELECT 'not_in_plan', * FROM credits.reserve_credits('h_chapter', 'premium');
SELECT results_eq($$select ok, reason, hold_id from tests.reserved where label = 'not_in_plan'$$,
                  $$values (false, 'feature_not_in_plan'::text, null::bigint)$$,
                  'reserve of premium on the free plan: feature_not_in_plan');
SELECT results_eq($$select feature, reason, cost from credits.gate_events where account_id = 'h_chapter'$$,
                  $$values ('premium'::text, 'feature_not_in_plan'::text, 3::numeric)$$,
                  'the feature_not_in_plan refusal of a reserve is a feature_gated event');
SELECT is((select count(*) from tests.holds(array['h_susp', 'h_chapter'])), 0::bigint,
          'no hold row for a refused reserve');

-- period limits: chapter is limited to 3 a period on the free plan
INSERT INTO tests.reserved SELECT 'ch1', * FROM credits.reserve_credits('h_chapter', 'chapter', ttl => '1 hour');
INSERT INTO tests.reserved SELECT 'ch2', * FROM credits.reserve_credits('h_chapter', 'chapter', ttl => '1 hour');
SELECT is((select period_remaining from credits.check_feature('h_chapter', 'chapter')), 1,
          'period limit: two held chapters count toward the limit (1 left)');
INSERT INTO tests.charged SELECT 'ch_deduct', * FROM credits.deduct_credits('h_chapter', 'chapter');
SELECT results_eq($$select allowed, reason, period_remaining from credits.check_feature('h_chapter', 'chapter')$$,
                  $$values (false, 'period_limit_reached'::text, 0)$$,
                  'period limit: two held chapters and one deducted use the 3 of the period');
INSERT INTO tests.reserved SELECT 'ch_refused', * FROM credits.reserve_credits('h_chapter', 'chapter');
SELECT results_eq($$select ok, reason, hold_id from tests.reserved where label = 'ch_refused'$$,
                  $$values (false, 'period_limit_reached'::text, null::bigint)$$,
                  'period limit: a fourth reserve is refused with period_limit_reached');
INSERT INTO tests.charged SELECT 'ch_deduct_refused', * FROM credits.deduct_credits('h_chapter', 'chapter');
SELECT results_eq($$select ok, reason from tests.charged where label = 'ch_deduct_refused'$$,
                  $$values (false, 'period_limit_reached'::text)$$,
                  'period limit: held chapters refuse a deduct too');
SELECT is((select count(*) from credits.gate_events where account_id = 'h_chapter' and reason = 'period_limit_reached'),
          2::bigint, 'period limit: both refusals are feature_gated events');
SELECT is((select released from credits.release_hold(tests.id('ch1'))), 1::numeric,
          'release_hold returns the amount released (1)');
SELECT results_eq($$select allowed, period_remaining from credits.check_feature('h_chapter', 'chapter')$$,
                  $$values (true, 1)$$,
                  'period limit: a released chapter gives its use back (1 left)');
INSERT INTO tests.charged SELECT 'ch_capture', * FROM credits.capture_hold(tests.id('ch2'));
SELECT results_eq($$select ok, charged from tests.charged where label = 'ch_capture'$$, $$values (true, 1::numeric)$$,
                  'period limit: the other held chapter is captured');
SELECT is((select period_remaining from credits.check_feature('h_chapter', 'chapter')), 1,
          'period limit: a captured chapter keeps its use (still 1 left)');
INSERT INTO tests.reserved SELECT 'ch_poor', * FROM credits.reserve_credits('h_chapter', 'chapter', amount => 5);
SELECT results_eq($$select rh.ok, rh.reason, c.period_remaining from tests.reserved rh, credits.check_feature('h_chapter', 'chapter') c
                    where rh.label = 'ch_poor'$$,
                  $$values (false, 'insufficient_credits'::text, 1)$$,
                  'period limit: a reserve refused for want of credits does not use the quota');

-- as superuser: what every hold left behind ---------------------------------------------------
SELECT tests.act_as_superuser();
SELECT * FROM tests.holds_are_consistent();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
