-- A hold draws from the grants it earmarked even if they have expired or been
-- voided meanwhile (SPEC §1 hold): what the ended grant had beyond the
-- capture is an `expiry` (or `void`) row, released credits of an expired
-- grant expire at once, void_grant leaves the held part to the hold, and
-- the refund of a capture from an expired grant comes back as a new refund
-- grant.

BEGIN;
SELECT plan(16);
SELECT tests.catalog();
SELECT tests.hold_empty_plan();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts --------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('h_exp', 'hold_empty');
SELECT tests.open('h_void', 'hold_empty');

-- a hold draws from the grants it earmarked even if they EXPIRED meanwhile -----------------------
INSERT INTO tests.ids SELECT 'exp_grant', grant_id
  FROM credits.grant_credits('h_exp', 5, 'promo', expires_at => '2026-03-10 12:05+00');
INSERT INTO tests.ids SELECT 'exp_purchase', grant_id FROM credits.purchase_credits('h_exp', 10, 'pay-h-exp');
INSERT INTO tests.reserved SELECT 'exp1', * FROM credits.reserve_credits('h_exp', 'roast', amount => 3, ttl => '1 hour');
INSERT INTO tests.reserved SELECT 'exp2', * FROM credits.reserve_credits('h_exp', 'roast', amount => 1, ttl => '1 hour');
SELECT results_eq($$select hold_id, earmarks from tests.holds(array['h_exp']) order by hold_id$$,
                  $$values (tests.id('exp1'), jsonb_build_array(tests.draw('exp_grant', 3))),
                           (tests.id('exp2'), jsonb_build_array(tests.draw('exp_grant', 1)))$$,
                  'both holds earmark the grant that expires first (3 and 1 of its 5)');
SELECT tests.travel('2026-03-10 12:10+00');
SELECT results_eq($$select available, held from tests.bal('h_exp')$$, $$values (10::numeric, 4::numeric)$$,
                  'after the grant ended: its free 1 is gone, its 4 are still held, the purchase''s 10 available');
INSERT INTO tests.charged SELECT 'exp1', * FROM credits.capture_hold(tests.id('exp1'), 1);
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'exp1'$$,
                  $$values (true, 1::numeric, 10::numeric)$$,
                  'capture of 1 from a hold on an expired grant: ok, charged 1, the purchase untouched');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, grant_id, draws from credits.ledger
    where account_id = 'h_exp' and created_at = '2026-03-10 12:10+00' order by transaction_id$$,
  $$values ('expiry'::text, -1::numeric, 15::numeric, 14::numeric, tests.id('exp_grant'), null::jsonb),
           ('capture', -1, 14, 13, null, jsonb_build_array(tests.draw('exp_grant', 1))),
           ('expiry', -2, 13, 11, tests.id('exp_grant'), null)$$,
  'the free 1 of the ended grant expires first; the capture draws 1 from it; the 2 the hold gave back expire at once');
SELECT is((select released from credits.release_hold(tests.id('exp2'))), 1::numeric,
          'releasing the other hold on the expired grant returns 1');
SELECT results_eq($$select kind, amount, balance_before, balance_after, grant_id from credits.ledger
                    where account_id = 'h_exp' order by transaction_id desc limit 1$$,
                  $$values ('expiry'::text, -1::numeric, 11::numeric, 10::numeric, tests.id('exp_grant'))$$,
                  'released credits of an expired grant expire at once (an expiry row of -1)');
SELECT results_eq($$select available, held from tests.bal('h_exp')$$, $$values (10::numeric, 0::numeric)$$,
                  'h_exp: the purchase''s 10 available, nothing held');
SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'exp1_refund', refund_id FROM credits.refund_transaction(
  tests.tx('exp1'), 'render failed');
SELECT results_eq(
  $$select l.amount, (l.draws -> 0 ->> 'of_grant_id')::bigint,
           (l.draws -> 0 ->> 'grant_id')::bigint <> tests.id('exp_grant'), b.buckets
    from credits.ledger l, credits.get_balance('h_exp') b
    where l.transaction_id = tests.id('exp1_refund') and b.credit_type = 'credits'$$,
  $$values (1::numeric, tests.id('exp_grant'), true, '{"purchase": 10, "refund": 1}'::jsonb)$$,
  'refund of a capture from an expired grant: the 1 comes back as a new refund grant');
SELECT results_eq($$select available, held from tests.bal('h_exp')$$, $$values (11::numeric, 0::numeric)$$,
                  'after the refund: 11 available');

-- ... or VOIDED meanwhile
INSERT INTO tests.ids SELECT 'void_grant', grant_id FROM credits.grant_credits('h_void', 6, 'promo');
INSERT INTO tests.ids SELECT 'void_purchase', grant_id FROM credits.purchase_credits('h_void', 10, 'pay-h-void');
INSERT INTO tests.reserved SELECT 'void1', * FROM credits.reserve_credits('h_void', 'roast', amount => 4);
SELECT is((select voided from credits.void_grant(tests.id('void_grant'), 'promo abuse')), 2::numeric,
          'void_grant takes the unheld 2 and leaves the held 4 for the hold');
SELECT results_eq($$select available, held from tests.bal('h_void')$$, $$values (10::numeric, 4::numeric)$$,
                  'after the void: 4 held, the purchase''s 10 available');
SELECT tests.act_as('credits_service');
INSERT INTO tests.charged SELECT 'void1', * FROM credits.capture_hold(tests.id('void1'), 3);
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'void1'$$,
                  $$values (true, 3::numeric, 10::numeric)$$,
                  'capture of 3 from a hold on a voided grant: ok, charged 3');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, grant_id, draws from credits.ledger
    where account_id = 'h_void' order by transaction_id$$,
  $$values ('grant'::text, 6::numeric, 0::numeric, 6::numeric, tests.id('void_grant'), null::jsonb),
           ('grant', 10, 6, 16, tests.id('void_purchase'), null),
           ('void', -2, 16, 14, tests.id('void_grant'), null),
           ('capture', -3, 14, 11, null, jsonb_build_array(tests.draw('void_grant', 3))),
           ('void', -1, 11, 10, tests.id('void_grant'), null)$$,
  'the capture draws 3 from the voided grant; the 1 left is a void row; the chain holds');

-- as superuser: what every hold left behind ---------------------------------------------------
SELECT tests.act_as_superuser();
SELECT * FROM tests.holds_are_consistent();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
