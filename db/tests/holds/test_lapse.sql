-- A lapsed hold (SPEC §1 hold): past expires_at a hold blocks nothing before
-- any sweep (get_balance, credits.balances, check_feature, deduct, reserve,
-- period limits), reads change nothing, the next debit settles it (status
-- expired) and a capture after the lapse is hold_expired; the hold never
-- charged anything.

BEGIN;
SELECT plan(16);
SELECT tests.catalog();
SELECT tests.act_as('credits_service');

-- lapse: past expires_at a hold blocks nothing, before any sweep ---------------------------------
SELECT tests.travel('2026-03-12 12:00+00');
SELECT tests.open(a) FROM unnest(array['h_lapse', 'h_lapse_ch']) a;
INSERT INTO tests.reserved SELECT 'lapse', * FROM credits.reserve_credits('h_lapse', 'roast', amount => 5, ttl => '5 minutes');
SELECT results_eq($$select allowed, reason, available
                    from credits.check_feature('h_lapse', 'video', '{"seconds": 4}')$$,
                  $$values (false, 'insufficient_credits'::text, 1::numeric)$$,
                  'lapse: while the hold lives, 2 are not available (1 free)');
SELECT tests.travel('2026-03-12 12:05+00');
SELECT results_eq($$select available, held from tests.bal('h_lapse')$$, $$values (6::numeric, 0::numeric)$$,
                  'lapse: at expires_at get_balance reports nothing held, all 6 available');
SELECT is((select available from credits.balances where account_id = 'h_lapse'), 6::numeric,
          'lapse: credits.balances reports the lapsed hold''s credits as available too');
SELECT results_eq($$select allowed, reason, available
                    from credits.check_feature('h_lapse', 'video', '{"seconds": 10}')$$,
                  $$values (true, null::text, 6::numeric)$$,
                  'lapse: check_feature allows spending the lapsed hold''s credits');
SELECT is((select status from tests.holds(array['h_lapse'])), 'held',
          'lapse: reads changed nothing: the hold is not yet settled');
INSERT INTO tests.charged SELECT 'lapse_deduct', * FROM credits.deduct_credits('h_lapse', 'video', '{"seconds": 10}');
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'lapse_deduct'$$,
                  $$values (true, 5::numeric, 1::numeric)$$,
                  'lapse: a deduct of 5 succeeds before any sweep');
SELECT results_eq($$select status, ended_at from tests.holds(array['h_lapse'])$$,
                  $$values ('expired'::text, '2026-03-12 12:05+00'::timestamptz)$$,
                  'lapse: the deduct settled the hold: its status is expired');
INSERT INTO tests.charged SELECT 'lapse_capture', * FROM credits.capture_hold(tests.id('lapse'));
SELECT results_eq($$select ok, reason, charged from tests.charged where label = 'lapse_capture'$$,
                  $$values (false, 'hold_expired'::text, 0::numeric)$$,
                  'lapse: capture after the lapse: ok = false, reason hold_expired');
SELECT results_eq($$select kind, amount, balance_before, balance_after from credits.ledger
                    where account_id = 'h_lapse' order by transaction_id$$,
                  $$values ('grant'::text, 6::numeric, 0::numeric, 6::numeric), ('debit', -5, 6, 1)$$,
                  'lapse: the ledger chains 0 -> 6 -> 1: the hold never charged anything');
SELECT tests.travel('2026-03-12 12:00+00');
INSERT INTO tests.reserved SELECT 'lch1', * FROM credits.reserve_credits('h_lapse_ch', 'chapter', ttl => '5 minutes');
INSERT INTO tests.reserved SELECT 'lch2', * FROM credits.reserve_credits('h_lapse_ch', 'chapter', ttl => '5 minutes');
INSERT INTO tests.reserved SELECT 'lch3', * FROM credits.reserve_credits('h_lapse_ch', 'chapter', ttl => '5 minutes');
SELECT is((select period_remaining from credits.check_feature('h_lapse_ch', 'chapter')), 0,
          'lapse, period limit: three held chapters use the period''s 3');
SELECT tests.travel('2026-03-12 12:06+00');
SELECT results_eq($$select allowed, reason, period_remaining from credits.check_feature('h_lapse_ch', 'chapter')$$,
                  $$values (true, null::text, 3)$$,
                  'lapse, period limit: lapsed holds block no chapter: check_feature allows, 3 left');
INSERT INTO tests.charged SELECT 'lch_deduct', * FROM credits.deduct_credits('h_lapse_ch', 'chapter');
SELECT results_eq($$select ok, reason, charged from tests.charged where label = 'lch_deduct'$$,
                  $$values (true, null::text, 1::numeric)$$,
                  'lapse, period limit: a chapter deduct succeeds before any sweep');
INSERT INTO tests.reserved SELECT 'lch4', * FROM credits.reserve_credits('h_lapse_ch', 'chapter');
SELECT results_eq($$select ok, reason, held from tests.reserved where label = 'lch4'$$,
                  $$values (true, null::text, 1::numeric)$$,
                  'lapse, period limit: a chapter reserve succeeds before any sweep');

-- as superuser: what every hold left behind ---------------------------------------------------
SELECT tests.act_as_superuser();
SELECT * FROM tests.holds_are_consistent();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
