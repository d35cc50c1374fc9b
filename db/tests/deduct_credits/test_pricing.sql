-- What deduct_credits charges (SPEC §2 Spending), on a pro account (100
-- monthly credits): `amount` replaces the computed cost, the plan's
-- cost_override applies unless an amount is given, per-token and per-second
-- pricing rounded UP to 6 decimals, the ledger row carries the units, and the
-- balance is 100 less exactly what was charged. Bad units or amounts PT422,
-- an unknown feature or account PT404, each naming the value.

BEGIN;
SELECT plan(20);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('sp_pro', 'pro');

-- amount, cost_override and unit pricing (pro plan: 100 monthly credits)
INSERT INTO tests.charged SELECT 'amount', * FROM credits.deduct_credits('sp_pro', 'roast', amount => 7.5);
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'amount'$$,
                  $$values (true, 7.5::numeric, 92.5::numeric)$$,
                  'amount: 7.5 replaces roast''s computed cost of 1');
SELECT is((select amount from credits.ledger where transaction_id = (select transaction_id from tests.charged where label = 'amount')),
          -7.5::numeric, 'amount: the ledger row is -7.5');
INSERT INTO tests.charged SELECT 'amount_units', * FROM credits.deduct_credits('sp_pro', 'video', '{"seconds": 8}', amount => 0.25);
SELECT is((select charged from tests.charged where label = 'amount_units'), 0.25::numeric,
          'amount: 0.25 replaces the 4 that 8 seconds of video would cost');
INSERT INTO tests.charged SELECT 'override', * FROM credits.deduct_credits('sp_pro', 'premium');
SELECT is((select charged from tests.charged where label = 'override'), 2::numeric,
          'cost_override: premium is charged 2 on the pro plan');
INSERT INTO tests.charged SELECT 'override_amount', * FROM credits.deduct_credits('sp_pro', 'premium', amount => 5);
SELECT is((select charged from tests.charged where label = 'override_amount'), 5::numeric,
          'cost_override: an explicit amount wins over the plan''s cost_override');
INSERT INTO tests.charged SELECT 'tokens', * FROM credits.deduct_credits('sp_pro', 'chat', '{"input_tokens": 1233, "output_tokens": 377}');
SELECT is((select charged from tests.charged where label = 'tokens'), 1.182::numeric,
          'per-token pricing: 1233 input and 377 output tokens are charged 1.182');
INSERT INTO tests.charged SELECT 'seconds', * FROM credits.deduct_credits('sp_pro', 'video', '{"seconds": 8}');
SELECT results_eq(
  $$select amount, units from credits.ledger where transaction_id = (select transaction_id from tests.charged where label = 'seconds')$$,
  $$values (-4::numeric, '{"seconds": 8}'::jsonb)$$,
  'per-second pricing: 8 seconds of video is a -4 ledger row carrying its units');
INSERT INTO tests.charged SELECT 'round_seconds', * FROM credits.deduct_credits('sp_pro', 'video', '{"seconds": 1.0000001}');
SELECT is((select charged from tests.charged where label = 'round_seconds'), 0.500001::numeric,
          'rounding: 1.0000001 seconds (0.50000005) is charged 0.500001, rounded up');
INSERT INTO tests.charged SELECT 'round_tokens', * FROM credits.deduct_credits('sp_pro', 'chat', '{"input_tokens": 1, "output_tokens": 0.0000007}');
SELECT is((select charged from tests.charged where label = 'round_tokens'), 0.000501::numeric,
          'rounding: 0.00050000105 of tokens is charged 0.000501, rounded up');
SELECT is((select available from credits.get_balance('sp_pro') where credit_type = 'credits'),
          (100 - 7.5 - 0.25 - 2 - 5 - 1.182 - 4 - 0.500001 - 0.000501)::numeric,
          'the pro account''s balance is 100 less exactly what was charged');

-- invalid calls
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'video', '{"frames": 3}')$$, 'PT422',
                 'unknown unit frames for feature video', 'deduct_credits: an unknown unit raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'roast', '{"seconds": 1}')$$, 'PT422',
                 'unknown unit seconds for feature roast',
                 'deduct_credits: a unit for a feature priced per call raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'video', '{"seconds": -1}')$$, 'PT422',
                 'unit seconds must be a number of 0 or more, got -1', 'deduct_credits: a negative unit raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'video', '{"seconds": "8"}')$$, 'PT422',
                 'unit seconds must be a number of 0 or more, got "8"',
                 'deduct_credits: a unit that is not a JSON number raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'video', '[8]')$$, 'PT422',
                 'units must be a JSON object, got [8]',
                 'deduct_credits: units that are not a JSON object raise PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'roast', amount => 0)$$, 'PT422',
                 'amount must be above 0, got 0', 'deduct_credits: amount 0 raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'roast', amount => 1.0000001)$$, 'PT422',
                 'amount has more than 6 decimal places: 1.0000001',
                 'deduct_credits: an amount with 7 decimals raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'teleport')$$, 'PT404', 'unknown feature teleport',
                 'deduct_credits: an unknown feature raises PT404');
SELECT throws_ok($$select * from credits.deduct_credits('nobody', 'roast')$$, 'PT404', 'unknown account nobody',
                 'deduct_credits: an unknown account raises PT404');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
