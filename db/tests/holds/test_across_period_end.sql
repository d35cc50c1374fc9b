-- A hold across the end of a period (SPEC §1 hold): the new period's
-- allowance is available while the hold still holds what it earmarked of the
-- last one; the capture draws from last period's grant, whose unheld rest
-- expires, and leaves the new allowance whole.

BEGIN;
SELECT plan(6);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts --------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('h_pro', 'pro');

-- a hold across the end of a period: it draws from last period's allowance --------------------------
SELECT tests.travel('2026-04-10 11:55+00');  -- h_pro was opened 03-10 12:00: its period ends 04-10 12:00
INSERT INTO tests.ids SELECT 'pro_march', grant_id FROM credits.ledger WHERE account_id = 'h_pro' AND kind = 'grant';
SELECT ok::text FROM credits.deduct_credits('h_pro', 'roast', amount => 10);
INSERT INTO tests.reserved SELECT 'pro', * FROM credits.reserve_credits('h_pro', 'roast', amount => 5, ttl => '30 minutes');
SELECT tests.travel('2026-04-10 12:05+00');
SELECT results_eq($$select available, held from tests.bal('h_pro')$$, $$values (100::numeric, 5::numeric)$$,
                  'period end: the new allowance of 100 is available, the 5 held from March''s allowance still held');
INSERT INTO tests.charged SELECT 'pro', * FROM credits.capture_hold(tests.id('pro'));
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'pro'$$,
                  $$values (true, 5::numeric, 100::numeric)$$,
                  'period end: the capture charges 5 and leaves April''s allowance whole');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, grant_id = tests.id('pro_march'), draws from credits.ledger
    where account_id = 'h_pro' and created_at = '2026-04-10 12:05+00' order by transaction_id$$,
  $$values ('expiry'::text, -85::numeric, 90::numeric, 5::numeric, true, null::jsonb),
           ('grant', 100, 5, 105, false, null),
           ('capture', -5, 105, 100, null,
            jsonb_build_array(tests.draw('pro_march', 5)))$$,
  'period end: March''s unheld 85 expire, April''s 100 are granted, the capture draws its 5 from March''s grant');

-- as superuser: what every hold left behind ---------------------------------------------------
SELECT tests.act_as_superuser();
SELECT * FROM tests.holds_are_consistent();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
