-- reserve_credits (SPEC §1 hold, §2 Spending; issue 3 "Holds"): the ok path
-- (a hold_id, held, expires_at = now + ttl, the default ttl of 15 minutes);
-- held credits are not available to deduct_credits, check_feature or another
-- reserve (get_balance and credits.balances report them as held), each
-- refusal a feature_gated event; a hold writes no ledger row; release_hold
-- returns what each hold held and gives it back. Every hold file ends with
-- tests.holds_are_consistent(): balances hold what their live holds hold.

BEGIN;
SELECT plan(16);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts --------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['h_main']) a;

-- reserve_credits: the ok path, and held credits are not available ------------------------
INSERT INTO tests.reserved SELECT 'main1', * FROM credits.reserve_credits('h_main', 'roast', ttl => '10 minutes');
SELECT results_eq($$select ok, reason, hold_id is not null, held, expires_at from tests.reserved where label = 'main1'$$,
                  $$values (true, null::text, true, 1::numeric, '2026-03-10 12:10+00'::timestamptz)$$,
                  'reserve: ok, a hold_id, 1 held, expires_at = now + ttl (10 minutes)');
INSERT INTO tests.reserved SELECT 'main2', * FROM credits.reserve_credits('h_main', 'video', '{"seconds": 4}');
SELECT results_eq($$select ok, held, expires_at from tests.reserved where label = 'main2'$$,
                  $$values (true, 2::numeric, '2026-03-10 12:15+00'::timestamptz)$$,
                  'reserve: 4 seconds of video hold 2; the default ttl is 15 minutes');
SELECT results_eq($$select available, held from tests.bal('h_main')$$, $$values (3::numeric, 3::numeric)$$,
                  'get_balance: 6 signup credits, 3 of them held: 3 available, 3 held');
SELECT results_eq($$select allowed, reason, cost, available, draws
                    from credits.check_feature('h_main', 'video', '{"seconds": 8}')$$,
                  $$values (false, 'insufficient_credits'::text, 4::numeric, 3::numeric, '[]'::jsonb)$$,
                  'check_feature: held credits are not available (4 wanted, 3 free)');
INSERT INTO tests.charged SELECT 'main_deduct_refused', * FROM credits.deduct_credits('h_main', 'video', '{"seconds": 8}');
SELECT results_eq($$select ok, reason, transaction_id, charged, available from tests.charged where label = 'main_deduct_refused'$$,
                  $$values (false, 'insufficient_credits'::text, null::bigint, 0::numeric, 3::numeric)$$,
                  'deduct_credits cannot spend held credits: 4 with 3 free is insufficient_credits');
INSERT INTO tests.reserved SELECT 'main_refused', * FROM credits.reserve_credits('h_main', 'video', '{"seconds": 8}');
SELECT results_eq($$select ok, reason, hold_id, held, expires_at from tests.reserved where label = 'main_refused'$$,
                  $$values (false, 'insufficient_credits'::text, null::bigint, 0::numeric, null::timestamptz)$$,
                  'another reserve cannot hold held credits: insufficient_credits, no hold');
INSERT INTO tests.charged SELECT 'main_deduct3', * FROM credits.deduct_credits('h_main', 'roast', amount => 3);
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'main_deduct3'$$,
                  $$values (true, 3::numeric, 0::numeric)$$,
                  'deduct_credits spends exactly the 3 free credits, leaving 0 available');
INSERT INTO tests.reserved SELECT 'main_refused2', * FROM credits.reserve_credits('h_main', 'roast');
SELECT results_eq($$select ok, reason, hold_id from tests.reserved where label = 'main_refused2'$$,
                  $$values (false, 'insufficient_credits'::text, null::bigint)$$,
                  'with everything held or spent a reserve of 1 is refused');
SELECT results_eq($$select feature, reason, cost, available from credits.gate_events
                    where account_id = 'h_main' order by event_id$$,
                  $$values ('video'::text, 'insufficient_credits'::text, 4::numeric, 3::numeric),
                           ('video', 'insufficient_credits', 4, 3), ('roast', 'insufficient_credits', 1, 0)$$,
                  'each refusal (the deduct and both reserves) is a feature_gated event with cost and available');
SELECT results_eq($$select kind, amount, balance_before, balance_after from credits.ledger
                    where account_id = 'h_main' order by transaction_id$$,
                  $$values ('grant'::text, 6::numeric, 0::numeric, 6::numeric), ('debit', -3, 6, 3)$$,
                  'a hold writes no ledger row: the signup grant and the debit only (the held 3 are still owned)');
SELECT is((select available from credits.balances where account_id = 'h_main'), 0::numeric,
          'credits.balances: nothing available while 3 are held');
SELECT results_eq($$select r1.released, r2.released
                    from credits.release_hold(tests.id('main1')) r1, credits.release_hold(tests.id('main2')) r2$$,
                  $$values (1::numeric, 2::numeric)$$,
                  'release_hold returns what each hold held (1 and 2)');
SELECT results_eq($$select available, held from tests.bal('h_main')$$, $$values (3::numeric, 0::numeric)$$,
                  'after the releases the 3 are available again, nothing held');

-- as superuser: what every hold left behind ---------------------------------------------------
SELECT tests.act_as_superuser();
SELECT * FROM tests.holds_are_consistent();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
