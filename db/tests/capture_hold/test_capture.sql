-- capture_hold (SPEC §1 hold, §2 Spending): reserve earmarks grants in
-- burn-down order; a partial or full capture is a `capture` ledger row drawn
-- from the earmarks in order, the rest released with no ledger row, the
-- balance_before/after chain kept; capturing twice with the same arguments
-- returns the first result, with another amount PT409 naming the hold; PT422
-- above the hold, for an amount not above 0 or bad metadata; a released hold
-- is not captured (hold_released), release_hold twice or of a captured hold
-- releases 0; unknown holds PT404. refund_transaction of a capture gives the
-- credits back to the grants that paid, never beyond what was charged.

BEGIN;
SELECT plan(27);
SELECT tests.catalog();
SELECT tests.hold_empty_plan();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts --------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('h_cap', 'hold_empty');

-- capture_hold: full and partial, from the earmarked grants ------------------------------------
INSERT INTO tests.ids SELECT 'cap_promo', grant_id FROM credits.grant_credits('h_cap', 4, 'promo');
INSERT INTO tests.ids SELECT 'cap_purchase', grant_id FROM credits.purchase_credits('h_cap', 10, 'pay-h-cap');
INSERT INTO tests.reserved SELECT 'cap1', * FROM credits.reserve_credits('h_cap', 'roast', amount => 6);
SELECT results_eq($$select earmarks from tests.holds(array['h_cap']) where hold_id = tests.id('cap1')$$,
                  $$values (jsonb_build_array(tests.draw('cap_promo', 4),
                                              tests.draw('cap_purchase', 2)))$$,
                  'reserve earmarks grants in burn-down order: the promo 4, then 2 of the purchase');
INSERT INTO tests.charged SELECT 'cap1', * FROM credits.capture_hold(tests.id('cap1'), 5, '{"job": "r1"}');
SELECT results_eq($$select ok, reason, charged, available, credit_type from tests.charged where label = 'cap1'$$,
                  $$values (true, null::text, 5::numeric, 9::numeric, 'credits'::text)$$,
                  'partial capture: 5 of the 6 held are charged, the 1 left is released (9 available)');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, available_after, feature, draws, metadata
    from credits.ledger where transaction_id = tests.tx('cap1')$$,
  $$values ('capture'::text, -5::numeric, 14::numeric, 9::numeric, 9::numeric, 'roast'::text,
            jsonb_build_array(tests.draw('cap_promo', 4),
                              tests.draw('cap_purchase', 1)),
            '{"job": "r1"}'::jsonb)$$,
  'partial capture: a capture row of -5, balance 14 -> 9, drawn from the earmarks in order (promo 4, purchase 1)');
SELECT results_eq($$select available, held from tests.bal('h_cap')$$, $$values (9::numeric, 0::numeric)$$,
                  'partial capture: nothing is held any more, 9 available');
INSERT INTO tests.charged SELECT 'cap1_again', * FROM credits.capture_hold(tests.id('cap1'), 5, '{"job": "r1"}');
SELECT results_eq($$select ok, reason, transaction_id, charged, available, credit_type from tests.charged
                    where label = 'cap1_again'$$,
                  $$select ok, reason, transaction_id, charged, available, credit_type from tests.charged
                    where label = 'cap1'$$,
                  'capturing twice with the same arguments returns the first result');
SELECT throws_ok(format('select * from credits.capture_hold(%s)', tests.id('cap1')), 'PT409',
                 format('hold %s was captured with other arguments: 5.000000 charged, now 6.000000 asked',
                        tests.id('cap1')),
                 'capturing again without an amount (all 6 held, not the 5 charged) is PT409, not a replay');
SELECT throws_ok(format('select * from credits.capture_hold(%s, 1, %L)', tests.id('cap1'), '{"job": "r1"}'), 'PT409',
                 format('hold %s was captured with other arguments: 5.000000 charged, now 1.000000 asked',
                        tests.id('cap1')),
                 'capturing again with another amount is PT409, not a replay');
INSERT INTO tests.reserved SELECT 'cap2', * FROM credits.reserve_credits('h_cap', 'roast', amount => 3);
INSERT INTO tests.charged SELECT 'cap2', * FROM credits.capture_hold(tests.id('cap2'));
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'cap2'$$,
                  $$values (true, 3::numeric, 6::numeric)$$,
                  'full capture (the default): all 3 held are charged');
SELECT results_eq($$select kind, amount, balance_before, balance_after, draws from credits.ledger
                    where account_id = 'h_cap' order by transaction_id$$,
                  $$values ('grant'::text, 4::numeric, 0::numeric, 4::numeric, null::jsonb),
                           ('grant', 10, 4, 14, null),
                           ('capture', -5, 14, 9, (select draws from credits.ledger
                                                   where transaction_id = tests.tx('cap1'))),
                           ('capture', -3, 9, 6, jsonb_build_array(tests.draw('cap_purchase', 3)))$$,
                  'the ledger of h_cap chains: 0 -> 4 -> 14 -> 9 -> 6, and no row for the release of the 1 left');
INSERT INTO tests.reserved SELECT 'cap3', * FROM credits.reserve_credits('h_cap', 'roast', amount => 2);
SELECT throws_ok(format('select * from credits.capture_hold(%s, 2.000001)', tests.id('cap3')), 'PT422',
                 format('cannot capture 2.000001 from hold %s, which holds 2.000000', tests.id('cap3')),
                 'capture above what is held (2.000001 of 2) raises PT422');
SELECT throws_ok(format('select * from credits.capture_hold(%s, 0)', tests.id('cap3')), 'PT422',
                 'amount must be above 0, got 0', 'capture of 0 raises PT422');
SELECT throws_ok(format('select * from credits.capture_hold(%s, -1)', tests.id('cap3')), 'PT422',
                 'amount must be above 0, got -1', 'capture of -1 raises PT422');
SELECT throws_ok(format('select * from credits.capture_hold(%s, metadata => %L)', tests.id('cap3'), '[1]'), 'PT422',
                 'metadata must be a JSON object, got [1]', 'capture with metadata that is not an object raises PT422');
SELECT results_eq($$select available, held from tests.bal('h_cap')$$, $$values (4::numeric, 2::numeric)$$,
                  'the refused captures left the hold as it was (2 held)');
SELECT is((select released from credits.release_hold(tests.id('cap3'))), 2::numeric,
          'release_hold returns the 2 released');
SELECT is((select released from credits.release_hold(tests.id('cap3'))), 0::numeric,
          'releasing twice returns 0');
INSERT INTO tests.charged SELECT 'cap3_released', * FROM credits.capture_hold(tests.id('cap3'));
SELECT results_eq($$select ok, reason, transaction_id, charged, available, credit_type from tests.charged
                    where label = 'cap3_released'$$,
                  $$values (false, 'hold_released'::text, null::bigint, 0::numeric, 6::numeric, 'credits'::text)$$,
                  'capture after release: ok = false, reason hold_released, nothing charged');
SELECT is((select released from credits.release_hold(tests.id('cap2'))), 0::numeric,
          'releasing a captured hold releases 0');
SELECT results_eq($$select (select count(*) from credits.ledger where account_id = 'h_cap'), available, held
                    from tests.bal('h_cap')$$,
                  $$values (4::bigint, 6::numeric, 0::numeric)$$,
                  'releases and refused captures wrote no ledger row: still 4 rows, 6 available');
SELECT throws_ok($$select * from credits.capture_hold(-42)$$, 'PT404',
                 'unknown hold -42', 'capture of an unknown hold raises PT404');
SELECT throws_ok($$select * from credits.release_hold(-42)$$, 'PT404',
                 'unknown hold -42', 'release of an unknown hold raises PT404');

-- refund_transaction of a capture (admin)
SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'cap1_refund', refund_id FROM credits.refund_transaction(
  tests.tx('cap1'), 'render failed');
SELECT results_eq(
  $$select kind, amount, refund_of, balance_before, balance_after, draws from credits.ledger
    where transaction_id = tests.id('cap1_refund')$$,
  $$values ('refund'::text, 5::numeric, tests.tx('cap1'), 6::numeric, 11::numeric,
            jsonb_build_array(
              tests.draw('cap_purchase', 1) || jsonb_build_object('of_grant_id', tests.id('cap_purchase')),
              tests.draw('cap_promo', 4) || jsonb_build_object('of_grant_id', tests.id('cap_promo'))))$$,
  'refund_transaction of a capture: +5 back to the grants that paid (purchase 1, promo 4), 6 -> 11');
SELECT throws_ok($$select * from credits.refund_transaction(tests.tx('cap1'), 'again')$$, 'PT409',
                 format('cannot refund 0.000000 of transaction %s: 5.000000 was charged, 0.000000 is still refundable',
                        tests.tx('cap1')),
                 'a capture is never refunded beyond what was charged');
SELECT results_eq($$select available, held from tests.bal('h_cap')$$, $$values (11::numeric, 0::numeric)$$,
                  'after the refund: 11 available');

-- as superuser: what every hold left behind ---------------------------------------------------
SELECT tests.act_as_superuser();
SELECT * FROM tests.holds_are_consistent();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
