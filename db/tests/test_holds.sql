-- Holds: reserve_credits, capture_hold, release_hold, expire_holds (SPEC §1
-- hold, §2 Spending and Maintenance, §3 roles; issue 3 "Holds").
--
-- reserve_credits: the ok path (hold_id, held, expires_at = now + ttl, the
-- default ttl of 15 minutes); held credits are not available to
-- deduct_credits, check_feature or another reserve (get_balance reports them
-- as held); refusals exactly like deduct_credits (account_inactive,
-- feature_not_in_plan, period_limit_reached, insufficient_credits), each a
-- feature_gated event; a held chapter counts toward its period limit, a
-- captured one keeps its use, a released one gives it back; ttl not above 0
-- or above 30 days PT422; unlimited plans hold 0 (the capture records the
-- usage); demo accounts hold nothing (no hold_id, no row); idempotency (a
-- retry returns the same hold, even after it ended; other arguments PT409; a
-- refusal stores nothing under its key).
-- capture_hold: full and partial captures (a `capture` ledger row drawing
-- from the earmarked grants in earmark order, the rest released, the
-- balance_before/after chain); PT422 above the hold, for amount <= 0 or bad
-- metadata; capturing twice with the same arguments returns the first result, with another amount PT409; a released hold
-- cannot be captured (hold_released), a lapsed one neither (hold_expired).
-- A hold draws from the grants it earmarked even if they have expired (what
-- the ended grant had beyond the capture is an `expiry` row) or been voided
-- (a `void` row), and across the end of a period from last period's
-- allowance; refund_transaction of a capture (to the grants, or a new
-- refund grant where they ended). release_hold: the amount, twice 0, a
-- captured hold 0. expire_holds(): the count, settling accounts nobody
-- touched (earmarks and per-period uses come back, an earmark on an ended
-- grant expires), a second run 0. Lapse: past expires_at a hold blocks
-- nothing before any sweep (get_balance, credits.balances, check_feature,
-- deduct, reserve, period limits), and the next debit settles it (status
-- expired). Roles: a user on her own holds only (another's hold is PT404,
-- another's account 42501); the auditor may not hold, capture or release
-- (42501); users may not sweep.
-- Ids, reserves and captures are kept by label in the label registry of
-- db/tests/helpers.sql (tests.ids, tests.reserved, tests.charged); hold
-- rows are read through tests.holds(accounts): there is no public view of holds.

BEGIN;
SELECT plan(135);
SELECT '' FROM tests.catalog();  -- '' rather than the SQL function's null: TAP lines must be text
SELECT '' FROM credits.upsert_plan('hold_empty');  -- no signup grant: an account holds exactly what it is granted
SELECT '' FROM credits.set_plan_feature('hold_empty', 'roast');
SELECT tests.travel('2026-03-10 12:00+00')::text;


-- as service: accounts --------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT o.account_id
FROM (values ('h_main', 'free', false), ('h_susp', 'free', false), ('h_chapter', 'free', false),
             ('h_team', 'team', false), ('h_demo', 'free', true), ('h_keys', 'free', false),
             ('h_cap', 'hold_empty', false), ('h_exp', 'hold_empty', false), ('h_void', 'hold_empty', false),
             ('h_pro', 'pro', false), ('alice', 'free', false), ('bob', 'free', false)) v (account_id, plan, is_demo),
     credits.open_account(v.account_id, v.plan, v.is_demo) o;
SELECT account_id FROM credits.set_account_status('h_susp', 'suspended', 'chargeback 8812');

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

-- ttl, amount and arguments
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', ttl => '0 seconds')$$, 'PT422', format('ttl must be above 0 and at most 30 days, got %s', '0 seconds'::interval),
                 'reserve: a ttl of 0 raises PT422');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', ttl => '-5 minutes')$$, 'PT422', format('ttl must be above 0 and at most 30 days, got %s', '-5 minutes'::interval),
                 'reserve: a negative ttl raises PT422');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', ttl => '30 days 1 second')$$, 'PT422',
                 format('ttl must be above 0 and at most 30 days, got %s', '30 days 1 second'::interval), 'reserve: a ttl above 30 days raises PT422');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', ttl => null)$$, 'PT422', 'ttl must be above 0 and at most 30 days, got <NULL>',
                 'reserve: a null ttl raises PT422');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', amount => 0)$$, 'PT422', 'amount must be above 0, got 0',
                 'reserve: amount 0 raises PT422');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'video', '{"frames": 3}')$$, 'PT422', 'unknown unit frames for feature video',
                 'reserve: an unknown unit raises PT422');
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
SELECT tests.travel('2026-03-10 12:03+00')::text;
INSERT INTO tests.reserved SELECT 'key1_later', * FROM credits.reserve_credits('h_keys', 'roast', idempotency_key => 'job-1',
                                                                    ttl => '10 minutes');
SELECT results_eq($$select hold_id, expires_at from tests.reserved where label = 'key1_later'$$,
                  $$values (tests.id('key1'), '2026-03-10 12:10+00'::timestamptz)$$,
                  'idempotency: a retry 3 minutes later returns the first hold and its first expires_at');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'chapter', idempotency_key => 'job-1',
                                                         ttl => '10 minutes')$$,
                 'PT409', 'idempotency key job-1 of account h_keys was used with other arguments', 'idempotency: the same key for another feature raises PT409');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', idempotency_key => 'job-1',
                                                         ttl => '20 minutes')$$,
                 'PT409', 'idempotency key job-1 of account h_keys was used with other arguments', 'idempotency: the same key with another ttl raises PT409');
SELECT throws_ok($$select * from credits.reserve_credits('h_keys', 'roast', idempotency_key => 'job-1',
                                                         ttl => '10 minutes', amount => 2)$$,
                 'PT409', 'idempotency key job-1 of account h_keys was used with other arguments', 'idempotency: the same key with another amount raises PT409');
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
SELECT tests.travel('2026-03-10 12:00+00')::text;

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
SELECT throws_ok(format('select * from credits.capture_hold(%s)', tests.id('cap1')), 'PT409', format('hold %s was captured with other arguments: 5.000000 charged, now 6.000000 asked', tests.id('cap1')),
                 'capturing again without an amount (all 6 held, not the 5 charged) is PT409, not a replay');
SELECT throws_ok(format('select * from credits.capture_hold(%s, 1, %L)', tests.id('cap1'), '{"job": "r1"}'),
                 'PT409', format('hold %s was captured with other arguments: 5.000000 charged, now 1.000000 asked', tests.id('cap1')), 'capturing again with another amount is PT409, not a replay');
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
SELECT throws_ok(format('select * from credits.capture_hold(%s, 2.000001)', tests.id('cap3')), 'PT422', format('cannot capture 2.000001 from hold %s, which holds 2.000000', tests.id('cap3')),
                 'capture above what is held (2.000001 of 2) raises PT422');
SELECT throws_ok(format('select * from credits.capture_hold(%s, 0)', tests.id('cap3')), 'PT422', 'amount must be above 0, got 0',
                 'capture of 0 raises PT422');
SELECT throws_ok(format('select * from credits.capture_hold(%s, -1)', tests.id('cap3')), 'PT422', 'amount must be above 0, got -1',
                 'capture of -1 raises PT422');
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
SELECT throws_ok($$select * from credits.capture_hold(-42)$$, 'PT404', 'unknown hold -42', 'capture of an unknown hold raises PT404');
SELECT throws_ok($$select * from credits.release_hold(-42)$$, 'PT404', 'unknown hold -42', 'release of an unknown hold raises PT404');

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
SELECT throws_ok($$select * from credits.refund_transaction(tests.tx('cap1'), 'again')$$,
                 'PT409', format('cannot refund 0.000000 of transaction %s: 5.000000 was charged, 0.000000 is still refundable', tests.tx('cap1')), 'a capture is never refunded beyond what was charged');
SELECT results_eq($$select available, held from tests.bal('h_cap')$$, $$values (11::numeric, 0::numeric)$$,
                  'after the refund: 11 available');
SELECT tests.act_as('credits_service');

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
SELECT tests.travel('2026-03-10 12:10+00')::text;
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

-- alice and bob ----------------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'bob');
INSERT INTO tests.reserved SELECT 'bob', * FROM credits.reserve_credits('bob', 'roast');
SELECT tests.act_as('credits_user', 'alice');
INSERT INTO tests.reserved SELECT 'alice1', * FROM credits.reserve_credits('alice', 'roast');
SELECT results_eq($$select ok, held from tests.reserved where label = 'alice1'$$, $$values (true, 1::numeric)$$,
                  'alice reserves on her own account');
INSERT INTO tests.charged SELECT 'alice1', * FROM credits.capture_hold(tests.id('alice1'));
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'alice1'$$,
                  $$values (true, 1::numeric, 5::numeric)$$,
                  'alice captures her own hold');
SELECT is((select actor from credits.ledger where transaction_id = tests.tx('alice1')),
          'alice', 'the capture row''s actor is alice');
INSERT INTO tests.reserved SELECT 'alice2', * FROM credits.reserve_credits('alice', 'video', '{"seconds": 2}');
SELECT is((select released from credits.release_hold(tests.id('alice2'))), 1::numeric,
          'alice releases her own hold');
SELECT throws_ok(format('select * from credits.capture_hold(%s)', tests.id('bob')), 'PT404', format('unknown hold %s', tests.id('bob')),
                 'alice capturing bob''s hold gets PT404 (it is unknown to her)');
SELECT throws_ok(format('select * from credits.release_hold(%s)', tests.id('bob')), 'PT404', format('unknown hold %s', tests.id('bob')),
                 'alice releasing bob''s hold gets PT404');
SELECT throws_ok($$select * from credits.reserve_credits('bob', 'roast')$$, '42501', 'caller may not act on account bob',
                 'alice may not reserve on bob''s account (42501)');
SELECT throws_ok($$select * from credits.expire_holds()$$, '42501', 'permission denied for function expire_holds', 'a user may not run expire_holds (42501)');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.reserve_credits('alice', 'roast')$$, '42501', 'permission denied for function reserve_credits',
                 'the auditor may not reserve (42501)');
SELECT throws_ok(format('select * from credits.capture_hold(%s)', tests.id('bob')), '42501', 'permission denied for function capture_hold',
                 'the auditor may not capture (42501)');
SELECT throws_ok(format('select * from credits.release_hold(%s)', tests.id('bob')), '42501', 'permission denied for function release_hold',
                 'the auditor may not release (42501)');
SELECT tests.act_as('credits_user', 'bob');
SELECT results_eq($$select available, held from tests.bal('bob')$$, $$values (5::numeric, 1::numeric)$$,
                  'bob''s hold is untouched by alice''s attempts (1 held)');
SELECT is((select released from credits.release_hold(tests.id('bob'))), 1::numeric, 'bob releases his own hold');

-- expire_holds: settles accounts nobody touches ------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-11 09:00+00')::text;
SELECT is((select count(*) from tests.holds() where status = 'held'), 0::bigint,
          'before the sweep: every earlier hold has ended');
SELECT o.account_id FROM unnest(array['h_sweep1', 'h_sweep2']) a, credits.open_account(a) o;
SELECT account_id FROM credits.open_account('h_sweep3', 'hold_empty');
INSERT INTO tests.ids SELECT 'sw3_grant', grant_id
  FROM credits.grant_credits('h_sweep3', 2, 'promo', expires_at => '2026-03-11 09:02+00');
INSERT INTO tests.reserved SELECT 'sw1a', * FROM credits.reserve_credits('h_sweep1', 'roast', ttl => '5 minutes');
INSERT INTO tests.reserved SELECT 'sw1b', * FROM credits.reserve_credits('h_sweep1', 'video', '{"seconds": 4}', ttl => '5 minutes');
INSERT INTO tests.reserved SELECT 'sw2a', * FROM credits.reserve_credits('h_sweep2', 'chapter', ttl => '5 minutes');
INSERT INTO tests.reserved SELECT 'sw2b', * FROM credits.reserve_credits('h_sweep2', 'roast', amount => 2, ttl => '2 hours');
INSERT INTO tests.reserved SELECT 'sw3', * FROM credits.reserve_credits('h_sweep3', 'roast', amount => 2, ttl => '5 minutes');
SELECT is((select holds_released from credits.expire_holds()), 0, 'expire_holds before any hold lapsed releases 0');
SELECT tests.travel('2026-03-11 09:06+00')::text;
SELECT is((select holds_released from credits.expire_holds()), 4,
          'expire_holds six minutes later releases the four holds that lapsed');
SELECT results_eq($$select hold_id, status, ended_at from tests.holds(array['h_sweep1', 'h_sweep2', 'h_sweep3'])
                    order by hold_id$$,
                  $$values (tests.id('sw1a'), 'expired'::text, '2026-03-11 09:06+00'::timestamptz),
                           (tests.id('sw1b'), 'expired', '2026-03-11 09:06+00'),
                           (tests.id('sw2a'), 'expired', '2026-03-11 09:06+00'),
                           (tests.id('sw2b'), 'held', null),
                           (tests.id('sw3'), 'expired', '2026-03-11 09:06+00')$$,
                  'the lapsed holds are expired, the 2-hour one still held');
SELECT results_eq($$select account_id, balance, held from credits.balances
                    where account_id in ('h_sweep1', 'h_sweep2') order by 1$$,
                  $$values ('h_sweep1'::text, 6::numeric, 0::numeric), ('h_sweep2', 6, 2)$$,
                  'the untouched accounts are settled: only the live hold of 2 is still held');
SELECT is((select period_remaining from credits.check_feature('h_sweep2', 'chapter')), 3,
          'the lapsed chapter''s use came back with the sweep');
SELECT is((select count(*) from credits.ledger where account_id in ('h_sweep1', 'h_sweep2') and kind <> 'grant'),
          0::bigint, 'the sweep wrote no ledger row (a lapsed hold changes no balance)');
SELECT results_eq($$select kind, amount, balance_before, balance_after, grant_id from credits.ledger
                    where account_id = 'h_sweep3' order by transaction_id$$,
                  $$values ('grant'::text, 2::numeric, 0::numeric, 2::numeric, tests.id('sw3_grant')),
                           ('expiry', -2, 2, 0, tests.id('sw3_grant'))$$,
                  'a lapsed hold on a grant that ended meanwhile: the sweep gives the earmark back and it expires');
SELECT is((select holds_released from credits.expire_holds()), 0, 'a second expire_holds releases 0');
INSERT INTO tests.charged SELECT 'sw1a', * FROM credits.capture_hold(tests.id('sw1a'));
SELECT results_eq($$select ok, reason, transaction_id, charged, available from tests.charged where label = 'sw1a'$$,
                  $$values (false, 'hold_expired'::text, null::bigint, 0::numeric, 6::numeric)$$,
                  'capture after the sweep: ok = false, reason hold_expired');
SELECT is((select released from credits.release_hold(tests.id('sw1b'))), 0::numeric,
          'release of a lapsed hold releases 0');
SELECT is((select released from credits.release_hold(tests.id('sw2b'))), 2::numeric,
          'the live 2-hour hold is released');

-- lapse: past expires_at a hold blocks nothing, before any sweep ---------------------------------
SELECT tests.travel('2026-03-12 12:00+00')::text;
SELECT o.account_id FROM unnest(array['h_lapse', 'h_lapse_ch']) a, credits.open_account(a) o;
INSERT INTO tests.reserved SELECT 'lapse', * FROM credits.reserve_credits('h_lapse', 'roast', amount => 5, ttl => '5 minutes');
SELECT results_eq($$select allowed, reason, available
                    from credits.check_feature('h_lapse', 'video', '{"seconds": 4}')$$,
                  $$values (false, 'insufficient_credits'::text, 1::numeric)$$,
                  'lapse: while the hold lives, 2 are not available (1 free)');
SELECT tests.travel('2026-03-12 12:05+00')::text;
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
SELECT tests.travel('2026-03-12 12:00+00')::text;
INSERT INTO tests.reserved SELECT 'lch1', * FROM credits.reserve_credits('h_lapse_ch', 'chapter', ttl => '5 minutes');
INSERT INTO tests.reserved SELECT 'lch2', * FROM credits.reserve_credits('h_lapse_ch', 'chapter', ttl => '5 minutes');
INSERT INTO tests.reserved SELECT 'lch3', * FROM credits.reserve_credits('h_lapse_ch', 'chapter', ttl => '5 minutes');
SELECT is((select period_remaining from credits.check_feature('h_lapse_ch', 'chapter')), 0,
          'lapse, period limit: three held chapters use the period''s 3');
SELECT tests.travel('2026-03-12 12:06+00')::text;
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

-- a hold across the end of a period: it draws from last period's allowance --------------------------
SELECT tests.travel('2026-04-10 11:55+00')::text;  -- h_pro was opened 03-10 12:00: its period ends 04-10 12:00
INSERT INTO tests.ids SELECT 'pro_march', grant_id FROM credits.ledger WHERE account_id = 'h_pro' AND kind = 'grant';
SELECT ok::text FROM credits.deduct_credits('h_pro', 'roast', amount => 10);
INSERT INTO tests.reserved SELECT 'pro', * FROM credits.reserve_credits('h_pro', 'roast', amount => 5, ttl => '30 minutes');
SELECT tests.travel('2026-04-10 12:05+00')::text;
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
SELECT is_empty($$select b.account_id, b.credit_type, b.held, h.held
                  from credits_private.balances b
                  left join (select account_id, credit_type, sum(amount) as held from credits_private.holds
                             where status = 'held' group by 1, 2) h using (account_id, credit_type)
                  where b.held <> coalesce(h.held, 0)$$,
                'every balance holds exactly what its live holds hold');
SELECT is_empty($$select hold_id from credits_private.holds
                  where (status = 'captured') <> (capture_entry_id is not null)
                     or (status = 'held') <> (ended_at is null)$$,
                'every captured hold names its capture row; every ended hold has ended_at');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
