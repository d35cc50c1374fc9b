-- deduct_credits and a per-period feature limit (SPEC §2 Spending): chapter
-- is limited to 3 a period on the free plan; the first three are charged, the
-- fourth is refused with period_limit_reached (a feature_gated event); the
-- limit is counted per account; a chapter refused for want of credits does
-- not use the quota; the next period (settled lazily) has a fresh quota.

BEGIN;
SELECT plan(13);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['sp_main', 'sp_chapter', 'sp_broke']) a;

-- period_limit_reached: chapter is limited to 3 a period on the free plan
INSERT INTO tests.charged SELECT 'chapter1', * FROM credits.deduct_credits('sp_chapter', 'chapter');
SELECT is((select period_remaining from credits.check_feature('sp_chapter', 'chapter')), 2,
          'period limit: 2 chapters left after the first');
INSERT INTO tests.charged SELECT 'chapter2', * FROM credits.deduct_credits('sp_chapter', 'chapter');
SELECT is((select period_remaining from credits.check_feature('sp_chapter', 'chapter')), 1,
          'period limit: 1 chapter left after the second');
INSERT INTO tests.charged SELECT 'chapter3', * FROM credits.deduct_credits('sp_chapter', 'chapter');
SELECT results_eq($$select allowed, reason, period_remaining, draws from credits.check_feature('sp_chapter', 'chapter')$$,
                  $$values (false, 'period_limit_reached'::text, 0, '[]'::jsonb)$$,
                  'period limit: after the third, check_feature says period_limit_reached, 0 left');
SELECT results_eq($$select ok, charged, available from tests.charged where label like 'chapter_' order by label$$,
                  $$values (true, 1::numeric, 5::numeric), (true, 1, 4), (true, 1, 3)$$,
                  'period limit: the first three chapters are charged 1 each');
INSERT INTO tests.charged SELECT 'chapter4', * FROM credits.deduct_credits('sp_chapter', 'chapter');
SELECT results_eq($$select ok, reason, transaction_id, charged, available from tests.charged where label = 'chapter4'$$,
                  $$values (false, 'period_limit_reached'::text, null::bigint, 0::numeric, 3::numeric)$$,
                  'period limit: the fourth chapter is refused with period_limit_reached');
SELECT results_eq($$select feature, reason from credits.gate_events where account_id = 'sp_chapter'$$,
                  $$values ('chapter'::text, 'period_limit_reached'::text)$$,
                  'period limit: the refusal is a feature_gated event');
SELECT is((select count(*) from credits.ledger where account_id = 'sp_chapter' and kind = 'debit'), 3::bigint,
          'period limit: exactly three chapter debits in the ledger');
SELECT is((select period_remaining from credits.check_feature('sp_main', 'chapter')), 3,
          'period limit: counted per account: another free account still has 3 chapters');
INSERT INTO tests.charged SELECT 'broke', * FROM credits.deduct_credits('sp_broke', 'roast', amount => 6);
INSERT INTO tests.charged SELECT 'broke_chapter', * FROM credits.deduct_credits('sp_broke', 'chapter');
SELECT results_eq($$select ok, reason from tests.charged where label = 'broke_chapter'$$,
                  $$values (false, 'insufficient_credits'::text)$$,
                  'period limit: a chapter with no credits left is refused with insufficient_credits');
SELECT is((select period_remaining from credits.check_feature('sp_broke', 'chapter')), 3,
          'period limit: a refused chapter does not use up the period''s quota');

-- the next period (opened 2026-03-10 12:00 UTC: the second period starts 04-10 12:00)
SELECT tests.travel('2026-04-11 12:00+00');
SELECT results_eq($$select allowed, reason, period_remaining from credits.check_feature('sp_chapter', 'chapter')$$,
                  $$values (true, null::text, 3)$$,
                  'next period: check_feature reports a fresh quota of 3 chapters (periods settle lazily)');
INSERT INTO tests.charged SELECT 'chapter_next', * FROM credits.deduct_credits('sp_chapter', 'chapter');
SELECT results_eq($$select ok, reason, charged from tests.charged where label = 'chapter_next'$$,
                  $$values (true, null::text, 1::numeric)$$,
                  'next period: a chapter is allowed again');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
