-- reserve_credits with an idempotency_key (SPEC §2 Spending): a retry returns
-- the same hold (and its first expires_at) and holds nothing more, even
-- after the hold ended; the same key for another feature, ttl or amount is
-- PT409 naming the key; a refusal stores nothing under its key, so after a
-- top-up the same call holds.

BEGIN;
SELECT plan(14);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts --------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['h_keys']) a;

-- idempotency
INSERT INTO tests.reserved SELECT 'key1', * FROM credits.reserve_credits('h_keys', 'roast', idempotency_key => 'job-1',
                                                              ttl => '10 minutes');
INSERT INTO tests.reserved SELECT 'key1_retry', * FROM credits.reserve_credits('h_keys', 'roast', idempotency_key => 'job-1',
                                                                    ttl => '10 minutes');
SELECT results_eq($$select ok, reason, hold_id, held, expires_at from tests.reserved where label = 'key1_retry'$$,
                  $$select ok, reason, hold_id, held, expires_at from tests.reserved where label = 'key1'$$,
                  'idempotency: a retry with the same key returns the same hold');
SELECT results_eq($$select available, held from tests.bal('h_keys')$$, $$values (5::numeric, 1::numeric)$$,
                  'idempotency: the retry held nothing more (1 held, 5 available)');
SELECT tests.travel('2026-03-10 12:03+00');
INSERT INTO tests.reserved SELECT 'key1_later', * FROM credits.reserve_credits('h_keys', 'roast', idempotency_key => 'job-1',
                                                                    ttl => '10 minutes');
SELECT results_eq($$select hold_id, expires_at from tests.reserved where label = 'key1_later'$$,
                  $$values (tests.id('key1'), '2026-03-10 12:10+00'::timestamptz)$$,
                  'idempotency: a retry 3 minutes later returns the first hold and its first expires_at');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'chapter', idempotency_key => 'job-1',
                                                         ttl => '10 minutes')$$, 'PT409',
                 'idempotency key job-1 of account h_keys was used with other arguments',
                 'idempotency: the same key for another feature raises PT409');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', idempotency_key => 'job-1',
                                                         ttl => '20 minutes')$$, 'PT409',
                 'idempotency key job-1 of account h_keys was used with other arguments',
                 'idempotency: the same key with another ttl raises PT409');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', idempotency_key => 'job-1',
                                                         ttl => '10 minutes', amount => 2)$$, 'PT409',
                 'idempotency key job-1 of account h_keys was used with other arguments',
                 'idempotency: the same key with another amount raises PT409');
SELECT is((select released from credits.release_hold(tests.id('key1'))), 1::numeric,
          'idempotency: the keyed hold is released');
INSERT INTO tests.reserved SELECT 'key1_after_release', *
  FROM credits.reserve_credits('h_keys', 'roast', idempotency_key => 'job-1',
                                                                            ttl => '10 minutes');
SELECT results_eq($$select ok, hold_id, (select held from tests.bal('h_keys')) from tests.reserved
                    where label = 'key1_after_release'$$,
                  $$values (true, tests.id('key1'), 0::numeric)$$,
                  'idempotency: a retry after the release still names the first hold and holds nothing again');
INSERT INTO tests.reserved SELECT 'key2_refused', * FROM credits.reserve_credits('h_keys', 'roast', idempotency_key => 'job-2',
                                                                      amount => 10);
SELECT results_eq($$select ok, reason from tests.reserved where label = 'key2_refused'$$,
                  $$values (false, 'insufficient_credits'::text)$$,
                  'idempotency: a keyed reserve of 10 with 6 is refused');
SELECT grant_id::text FROM credits.grant_credits('h_keys', 10, 'promo');
INSERT INTO tests.reserved SELECT 'key2', * FROM credits.reserve_credits('h_keys', 'roast', idempotency_key => 'job-2',
                                                              amount => 10);
SELECT results_eq($$select ok, held from tests.reserved where label = 'key2'$$, $$values (true, 10::numeric)$$,
                  'idempotency: a refusal stored nothing under its key: after a top-up the same call holds 10');
SELECT is((select released from credits.release_hold(tests.id('key2'))), 10::numeric,
          'idempotency: the hold of 10 is released');

-- as superuser: what every hold left behind ---------------------------------------------------
SELECT tests.act_as_superuser();
SELECT * FROM tests.holds_are_consistent();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
