-- reserve_credits's arguments (SPEC §2 Spending): a ttl not above 0, null or
-- above 30 days, amount 0 or an unknown unit PT422; an unknown feature or
-- account PT404 (each naming the value); exactly 30 days is allowed and
-- `amount` replaces the cost. An unlimited plan holds 0 and its capture
-- records the usage as a 0-amount capture row; a demo account holds nothing
-- (no hold_id, no hold row, no ledger row, no event).

BEGIN;
SELECT plan(18);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts --------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('h_keys');
SELECT tests.open('h_team', 'team');
SELECT tests.open('h_demo', is_demo => true);

-- ttl, amount and arguments
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', ttl => '0 seconds')$$, 'PT422',
                 format('ttl must be above 0 and at most 30 days, got %s', '0 seconds'::interval),
                 'reserve: a ttl of 0 raises PT422');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', ttl => '-5 minutes')$$, 'PT422',
                 format('ttl must be above 0 and at most 30 days, got %s', '-5 minutes'::interval),
                 'reserve: a negative ttl raises PT422');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', ttl => '30 days 1 second')$$, 'PT422',
                 format('ttl must be above 0 and at most 30 days, got %s', '30 days 1 second'::interval),
                 'reserve: a ttl above 30 days raises PT422');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', ttl => null)$$, 'PT422',
                 'ttl must be above 0 and at most 30 days, got <NULL>', 'reserve: a null ttl raises PT422');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', amount => 0)$$, 'PT422',
                 'amount must be above 0, got 0', 'reserve: amount 0 raises PT422');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'video', '{"frames": 3}')$$, 'PT422',
                 'unknown unit frames for feature video', 'reserve: an unknown unit raises PT422');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'teleport')$$, 'PT404', 'unknown feature teleport',
                 'reserve: an unknown feature raises PT404');
SELECT throws_ok($$select * from credits.reserve_credits('nobody', 'roast')$$, 'PT404', 'unknown account nobody',
                 'reserve: an unknown account raises PT404');
INSERT INTO tests.reserved SELECT 'month', * FROM credits.reserve_credits('h_keys', 'roast', ttl => '30 days', amount => 0.5);
SELECT results_eq($$select ok, held, expires_at from tests.reserved where label = 'month'$$,
                  $$values (true, 0.5::numeric, '2026-04-09 12:00+00'::timestamptz)$$,
                  'reserve: a ttl of exactly 30 days is allowed; amount 0.5 replaces the cost of 1');
SELECT is((select released from credits.release_hold(tests.id('month'))), 0.5::numeric,
          'release_hold of the 30-day hold returns 0.5');

-- unlimited plan: holds 0, a capture records the usage
INSERT INTO tests.reserved SELECT 'team', * FROM credits.reserve_credits('h_team', 'premium');
SELECT results_eq($$select ok, reason, hold_id is not null, held from tests.reserved where label = 'team'$$,
                  $$values (true, null::text, true, 0::numeric)$$,
                  'unlimited plan: the reserve is ok with a hold_id and holds 0');
INSERT INTO tests.charged SELECT 'team', * FROM credits.capture_hold(tests.id('team'));
SELECT results_eq(
  $$select rc.ok, rc.charged, l.kind, l.amount, l.balance_before, l.balance_after, l.feature
    from tests.charged rc join credits.ledger l on l.transaction_id = rc.transaction_id where rc.label = 'team'$$,
  $$values (true, 0::numeric, 'capture'::text, 0::numeric, 0::numeric, 0::numeric, 'premium'::text)$$,
  'unlimited plan: the capture charges 0 and records the usage as a 0-amount capture row');

-- demo account: holds nothing
INSERT INTO tests.ids SELECT 'demo_ledger', count(*) FROM credits.ledger WHERE account_id = 'h_demo';
INSERT INTO tests.ids SELECT 'demo_events', count(*) FROM credits.events WHERE account_id = 'h_demo';
INSERT INTO tests.reserved SELECT 'demo', * FROM credits.reserve_credits('h_demo', 'video', '{"seconds": 100}');
SELECT results_eq($$select ok, reason, hold_id, held from tests.reserved where label = 'demo'$$,
                  $$values (true, null::text, null::bigint, 0::numeric)$$,
                  'demo account: the reserve is ok, holds 0 and gives no hold_id');
SELECT results_eq($$select (select count(*) from tests.holds(array['h_demo'])),
                           (select count(*) from credits.ledger where account_id = 'h_demo'),
                           (select count(*) from credits.events where account_id = 'h_demo')$$,
                  $$values (0::bigint, tests.id('demo_ledger'), tests.id('demo_events'))$$,
                  'demo account: no hold row, no new ledger row, no new event');
SELECT results_eq($$select available, held from tests.bal('h_demo')$$, $$values (6::numeric, 0::numeric)$$,
                  'demo account: 6 available, nothing held');

-- as superuser: what every hold left behind ---------------------------------------------------
SELECT tests.act_as_superuser();
SELECT * FROM tests.holds_are_consistent();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
