-- balance_at (SPEC §2 Accounts and balances, the lazy settling rule, §3 roles).
--
-- Time travel over one account, alice (pro: 100 credits a month, opened
-- 2026-03-10 12:00 UTC), with amounts to the micro-credit: a promo that
-- expires, a purchase, an admin grant that is voided, debits spanning
-- grants, a refund to live grants and one to a voided grant (a new refund
-- grant), a second credit type, an expiry left unsettled for days, and a
-- period that ends with nobody calling and is opened two days later. At each
-- moment get_balance is kept (tests.see, in tests.seen) and balance_at(now) must
-- equal it; at the end balance_at(moment) must still give what get_balance
-- said at every kept moment, and named moments have values worked out by
-- hand (an ended grant's remainder is not counted even before its expiry row
-- is written; a period's allowance counts from the period's start even
-- though the period was opened later). An idle account keeps its past
-- readings after skipping months. Errors: PT422 for a null or future
-- moment, PT404, 42501; users read only their own account, the auditor any.

BEGIN;
SELECT plan(47);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
-- as admin (superuser): drip (5 credits a day, 10 analysis a month), max (500 a month), basic (20 a month)
SELECT code FROM credits.upsert_plan('drip', monthly_allowance => '{"analysis": 10}',
                                     daily_allowance => '{"credits": 5}');
SELECT feature FROM credits.set_plan_feature('drip', 'roast');
SELECT code FROM credits.upsert_plan('max', monthly_allowance => '{"credits": 500}');
SELECT code FROM credits.upsert_plan('basic', monthly_allowance => '{"credits": 20}');


-- as service: alice's March, step by step -----------------------------------------
SELECT tests.act_as('credits_service');
SELECT account_id FROM credits.open_account('alice', 'pro');
SELECT account_id FROM credits.open_account('bob');
SELECT tests.see('alice');
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'at opening: balance_at(now) = get_balance (one row per credit type)');

SELECT tests.travel('2026-03-11 09:00+00');
INSERT INTO tests.ids SELECT 'promo', grant_id
  FROM credits.grant_credits('alice', 20.5, 'promo', expires_at => '2026-03-20 00:00+00');
SELECT '' FROM credits.purchase_credits('alice', 50, 'pay-ba-1');
SELECT '' FROM credits.grant_credits('alice', 5, 'promo', 'analysis');
SELECT tests.see('alice');

SELECT tests.travel('2026-03-12 10:00+00');
INSERT INTO tests.ids SELECT 'd1', transaction_id FROM credits.deduct_credits('alice', 'roast', amount => 25.123456);
SELECT tests.see('alice');

SELECT tests.travel('2026-03-13 10:00+00');
SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'admin', grant_id
  FROM credits.grant_credits('alice', 10, 'admin', priority => 50, reason => 'goodwill');
SELECT tests.act_as('credits_service');
INSERT INTO tests.ids SELECT 'd2', transaction_id FROM credits.deduct_credits('alice', 'roast', amount => 3.000001);
SELECT '' FROM credits.deduct_credits('alice', 'analysis_run');
SELECT tests.see('alice');
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'after grants and debits: balance_at(now) = get_balance');

SELECT tests.travel('2026-03-14 10:00+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.void_grant(tests.id('admin'), 'goodwill withdrawn');
SELECT tests.see('alice');

SELECT tests.travel('2026-03-15 10:00+00');
SELECT '' FROM credits.refund_transaction(tests.id('d1'), 'render failed', 8.000001);
SELECT '' FROM credits.refund_transaction(tests.id('d2'), 'job lost');
SELECT tests.act_as('credits_service');
SELECT tests.see('alice');
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'after a void and two refunds (one to a new refund grant): balance_at(now) = get_balance');

SELECT tests.travel('2026-03-18 10:00+00');
SELECT '' FROM credits.deduct_credits('alice', 'roast', amount => 2);
SELECT tests.see('alice');

-- the promo ended on 03-20 00:00 with 3.376545 left; nobody calls until 03-23
SELECT tests.travel('2026-03-22 10:00+00');
SELECT tests.see('alice');
SELECT is((select count(*)::int from credits.ledger where account_id = 'alice' and kind = 'expiry'), 0,
          'on 03-22 the promo''s expiry is not written yet (no expiry ledger row)');
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'with an ended grant not yet settled: balance_at(now) = get_balance');
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 151.000001)$$,
                  'with an ended grant not yet settled: balance_at(now) leaves out its 3.376545 (151.000001)');

SELECT tests.travel('2026-03-23 10:00+00');
SELECT '' FROM credits.deduct_credits('alice', 'roast', amount => 1);
SELECT tests.see('alice');

-- the period ends on 04-10 12:00 with nobody calling; opened on 04-13
SELECT tests.travel('2026-04-12 09:00+00');
SELECT tests.see('alice');
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'in a period not opened yet: balance_at(now) = get_balance (the pending allowance counted)');
SELECT tests.travel('2026-04-13 09:00+00');
SELECT '' FROM credits.deduct_credits('alice', 'roast', amount => 4);
SELECT tests.see('alice');
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'after the period is opened: balance_at(now) = get_balance');

-- as service, on 04-13: every kept moment read back ------------------------------------
SELECT is((select count(*)::int from tests.seen where account_id = 'alice'), 22,
          'guard: 11 moments of alice were kept, 2 credit types each');
SELECT is_empty($$
  select s.at, s.credit_type, s.available, b.available
  from tests.seen s
  left join lateral credits.balance_at(s.account_id, s.at) b on b.credit_type = s.credit_type
  where s.account_id = 'alice' and b.available is distinct from s.available
$$, 'at every kept moment, balance_at now gives what get_balance said then');

SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-10 11:59:59.999999+00')$$,
                  $$values ('analysis'::text, 0::numeric), ('credits', 0)$$,
                  'before the account was opened: 0 of every credit type');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-10 12:00+00')$$,
                  $$values ('analysis'::text, 0::numeric), ('credits', 100)$$,
                  'at the opening instant: the monthly allowance, 100');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-12 09:59:59.999999+00')$$,
                  $$values ('analysis'::text, 5::numeric), ('credits', 170.5)$$,
                  'a microsecond before the first debit: 100 + 20.5 + 50');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-12 10:00+00')$$,
                  $$values ('analysis'::text, 5::numeric), ('credits', 145.376544)$$,
                  'at the first debit: 170.5 - 25.123456');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-13 10:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 152.376543)$$,
                  'after the admin grant and the second debit: + 10 - 3.000001; analysis 5 - 2');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-14 10:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 145.376544)$$,
                  'after the void: the admin grant''s 6.999999 are gone');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-15 10:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 156.376546)$$,
                  'after the refunds: + 8.000001 + 3.000001');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-19 23:59:59.999999+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 154.376546)$$,
                  'a microsecond before the promo ends: its 3.376545 still count');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-20 00:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 151.000001)$$,
                  'when the promo ends: its remainder (20.5 - 20.5 + 3.376545) no longer counts, though its expiry row is dated 03-23');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-23 10:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 150.000001)$$,
                  'after the expiry row and a debit of 1');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-04-10 11:59:59.999999+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 150.000001)$$,
                  'a microsecond before the period ends: March''s allowance (100) and the purchase (50)');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-04-10 12:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 150.000001)$$,
                  'when the period ends: March''s 100 are gone, April''s 100 count (issued only on 04-13)');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-04-13 09:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 146.000001)$$,
                  'when April is opened and 4 are spent');
SELECT results_eq(
  $$select balance_after from credits.ledger where account_id = 'alice' and credit_type = 'credits'
    and created_at <= '2026-03-19 00:00+00' order by transaction_id desc limit 1$$,
  $$select available from credits.balance_at('alice', '2026-03-19 00:00+00') where credit_type = 'credits'$$,
  'where nothing was left to settle, balance_at is the ledger''s last balance_after');

-- as service: an idle account skips months ----------------------------------------------
SELECT tests.travel('2026-01-05 09:00+00');
SELECT account_id FROM credits.open_account('idle', 'pro');
SELECT tests.travel('2026-03-15 09:00+00');
SELECT tests.see('idle');
SELECT tests.travel('2026-06-20 12:00+00');
SELECT tests.see('idle');
SELECT results_eq($$select * from credits.balance_at('idle', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('idle')$$,
                  'idle account, months later, before any call: balance_at(now) = get_balance');
SELECT '' FROM credits.get_or_create_active_period('idle');
SELECT is((select count(*)::int from credits.ledger where account_id = 'idle' and kind = 'grant'), 2,
          'guard: the idle account has two allowances, January''s and June''s (the months between were skipped)');
SELECT is_empty($$
  select s.at, s.credit_type, s.available, b.available
  from tests.seen s
  left join lateral credits.balance_at(s.account_id, s.at) b on b.credit_type = s.credit_type
  where s.account_id = 'idle' and b.available is distinct from s.available
$$, 'idle account: after June is opened, the readings of March (a skipped period) and June are unchanged');
SELECT results_eq($$select * from credits.balance_at('idle', '2026-02-10 00:00+00')$$,
                  $$values ('analysis'::text, 0::numeric), ('credits', 100)$$,
                  'idle account in February (a skipped period): January''s allowance ended, the allowance of the next opening counts');

-- as service: holds ------------------------------------------------------------------------
-- hana (pro): a promo ending at midnight, a long hold on it and the allowance,
-- a short hold that lapses unswept, a capture drawing from the ended promo, a
-- hold released, and a grant voided under a hold that then lapses.
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('hana', 'pro');
SELECT '' FROM credits.grant_credits('hana', 10, 'promo', expires_at => '2026-03-11 00:00+00');
SELECT tests.travel('2026-03-10 13:00+00');
INSERT INTO tests.ids SELECT 'h1', hold_id FROM credits.reserve_credits('hana', 'roast', ttl => '2 days', amount => 15);
SELECT tests.see('hana');
SELECT tests.travel('2026-03-10 14:00+00');
SELECT '' FROM credits.reserve_credits('hana', 'roast', ttl => '1 hour', amount => 3);
SELECT tests.see('hana');
SELECT tests.travel('2026-03-10 15:00+00');
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 00:00+00');
SELECT tests.see('hana');
SELECT results_eq($$select * from credits.balance_at('hana', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('hana')$$,
                  'holds: with a lapsed hold unswept and an ended grant under a running hold, balance_at(now) = get_balance');
-- h1 asked for 2 days but lapses at 00:15, 15 minutes after the promo it
-- earmarks ended (SPEC §1 hold): the sweep and the capture come before.
SELECT tests.travel('2026-03-11 00:05+00');
SELECT '' FROM credits.expire_grants();
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 00:10+00');
SELECT '' FROM credits.capture_hold(tests.id('h1'), 12);
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 11:00+00');
INSERT INTO tests.ids SELECT 'h3', hold_id FROM credits.reserve_credits('hana', 'roast', ttl => '1 day', amount => 4);
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 12:00+00');
SELECT '' FROM credits.release_hold(tests.id('h3'));
SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'hana_admin', grant_id
  FROM credits.grant_credits('hana', 7, 'admin', priority => 10, reason => 'apology');
SELECT tests.act_as('credits_service');
SELECT '' FROM credits.reserve_credits('hana', 'roast', ttl => '1 hour', amount => 5);
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 12:30+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.void_grant(tests.id('hana_admin'), 'apology withdrawn');
SELECT tests.act_as('credits_service');
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 13:00+00');
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 13:30+00');
SELECT '' FROM credits.deduct_credits('hana', 'roast', amount => 1);
SELECT tests.see('hana');
SELECT results_eq(
  $$select s.at, b.available from tests.seen s cross join lateral credits.balance_at('hana', s.at) b
    where s.account_id = 'hana' and s.credit_type = 'credits' and b.credit_type = 'credits' order by s.at$$,
  $$values ('2026-03-10 13:00+00'::timestamptz, 95::numeric), ('2026-03-10 14:00+00', 92),
           ('2026-03-10 15:00+00', 95), ('2026-03-11 00:00+00', 95), ('2026-03-11 00:05+00', 95),
           ('2026-03-11 00:10+00', 98),
           ('2026-03-11 11:00+00', 94), ('2026-03-11 12:00+00', 100), ('2026-03-11 12:30+00', 98),
           ('2026-03-11 13:00+00', 98), ('2026-03-11 13:30+00', 97)$$,
  'holds: 110 less what running holds earmark; a lapsed hold blocks nothing; the ended promo drops out whole, settled or not; a voided grant''s held part does not count');

-- as service: daily grants ---------------------------------------------------------------------
-- dina (drip: 5 credits a day in Paris, 10 analysis a month): the day's grant
-- is issued at her first call (15:00), the next days' are skipped until 03-13.
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('dina', 'drip', timezone => 'Europe/Paris');
SELECT tests.see('dina');
SELECT tests.travel('2026-03-10 15:00+00');
SELECT '' FROM credits.deduct_credits('dina', 'roast', amount => 2);
SELECT tests.see('dina');
SELECT tests.travel('2026-03-11 10:00+00');
SELECT tests.see('dina');
SELECT results_eq($$select * from credits.balance_at('dina', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('dina')$$,
                  'daily: on a new local day not settled yet, balance_at(now) = get_balance (the day''s grant pending)');
SELECT tests.travel('2026-03-13 09:00+00');
SELECT tests.see('dina');
SELECT tests.travel('2026-03-13 10:00+00');
SELECT '' FROM credits.deduct_credits('dina', 'roast', amount => 1);
SELECT tests.see('dina');
SELECT results_eq(
  $$select s.at, b.available from tests.seen s cross join lateral credits.balance_at('dina', s.at) b
    where s.account_id = 'dina' and s.credit_type = 'credits' and b.credit_type = 'credits' order by s.at$$,
  $$values ('2026-03-10 12:00+00'::timestamptz, 5::numeric), ('2026-03-10 15:00+00', 3),
           ('2026-03-11 10:00+00', 5), ('2026-03-13 09:00+00', 5), ('2026-03-13 10:00+00', 4)$$,
  'daily: the day''s grant counts from the day''s start though issued at 15:00; the day it ends (23:00 UTC) its 3 left no longer count');

-- as service: a subscriber --------------------------------------------------------------------
-- sam: free (6 at signup), subscribed to pro from 03-05; the renewal for
-- 04-05 arrives ten minutes late; an upgrade to max (500) on 04-10 tops the
-- period's grant up to 500.
SELECT tests.travel('2026-03-01 00:00+00');
SELECT account_id FROM credits.open_account('sam');
SELECT tests.travel('2026-03-05 00:00+00');
SELECT plan FROM credits.apply_subscription_event('evt-ba-1', 'sam', 'pro', 'active',
                                                 '2026-03-05 00:00+00', '2026-04-05 00:00+00');
SELECT tests.see('sam');
SELECT tests.travel('2026-03-20 00:00+00');
SELECT '' FROM credits.deduct_credits('sam', 'roast', amount => 10);
SELECT tests.see('sam');
SELECT tests.travel('2026-04-05 00:05+00');
SELECT tests.see('sam');
SELECT results_eq($$select * from credits.balance_at('sam', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('sam')$$,
                  'subscriber awaiting its renewal: balance_at(now) = get_balance (nothing pending)');
SELECT tests.travel('2026-04-05 00:10+00');
SELECT plan FROM credits.apply_subscription_event('evt-ba-2', 'sam', 'pro', 'active',
                                                 '2026-04-05 00:00+00', '2026-05-05 00:00+00');
SELECT tests.see('sam');
SELECT tests.travel('2026-04-10 00:00+00');
SELECT plan FROM credits.apply_subscription_event('evt-ba-3', 'sam', 'max', 'active',
                                                 '2026-04-05 00:00+00', '2026-05-05 00:00+00');
SELECT tests.see('sam');
SELECT results_eq(
  $$select s.at, b.available from tests.seen s cross join lateral credits.balance_at('sam', s.at) b
    where s.account_id = 'sam' and s.credit_type = 'credits' and b.credit_type = 'credits' order by s.at$$,
  $$values ('2026-03-05 00:00+00'::timestamptz, 106::numeric), ('2026-03-20 00:00+00', 96),
           ('2026-04-05 00:05+00', 6), ('2026-04-05 00:10+00', 106), ('2026-04-10 00:00+00', 506)$$,
  'subscriber: after the late renewal and the upgrade, the wait reads 6 as then, the renewal 100 (not the topped-up 500)');

-- tia (basic, 20 a month from 03-01) idles past 04-01; on 04-10 a provider's
-- event backdated to 03-25 subscribes her to pro: settling opens April's
-- basic period first, then the provider's, in the same transaction.
SELECT tests.travel('2026-03-01 00:00+00');
SELECT account_id FROM credits.open_account('tia', 'basic');
SELECT tests.travel('2026-04-05 00:00+00');
SELECT tests.see('tia');
SELECT tests.travel('2026-04-10 00:00+00');
SELECT plan FROM credits.apply_subscription_event('evt-ba-4', 'tia', 'pro', 'active',
                                                 '2026-03-25 00:00+00', '2026-04-25 00:00+00');
SELECT results_eq($$select * from credits.balance_at('tia', '2026-04-05 00:00+00')$$,
                  $$select credit_type, available from tests.seen where account_id = 'tia' order by credit_type$$,
                  'an opening by settlement and one by the provider at the same instant: the wait before reads as then (basic''s 20 pending)');

-- as service: errors ------------------------------------------------------------------------
SELECT tests.travel('2026-06-20 12:00+00');
SELECT throws_ok($$select * from credits.balance_at('ghost', '2026-03-01 00:00+00')$$, 'PT404', 'unknown account ghost',
                 'balance_at: an unknown account raises PT404');
SELECT throws_ok($$select * from credits.balance_at('', '2026-03-01 00:00+00')$$, 'PT422', 'account_id is required',
                 'balance_at: an empty account id raises PT422');
SELECT throws_ok($$select * from credits.balance_at('alice', null)$$, 'PT422', 'at is required',
                 'balance_at: a null moment raises PT422');
SELECT throws_ok($$select * from credits.balance_at('alice', '2026-06-20 12:00:00.000001+00')$$, 'PT422', format('at %s is in the future (now is %s)', '2026-06-20 12:00:00.000001+00'::timestamptz, credits.now()),
                 'balance_at: a moment after now raises PT422');

-- as user alice -------------------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-20 00:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 151.000001)$$,
                  'alice reads her own past balance');
SELECT throws_ok($$select * from credits.balance_at('bob', '2026-03-20 00:00+00')$$, '42501', 'caller may not act on account bob',
                 'alice may not read bob''s past balance');
SELECT throws_ok($$select * from credits.balance_at('nobody', '2026-03-20 00:00+00')$$, '42501', 'caller may not act on account nobody',
                 'alice naming an account that does not exist gets 42501, not PT404');

-- as credits_user without a sub ---------------------------------------------------------------
SELECT tests.act_as('credits_user');
SELECT throws_ok($$select * from credits.balance_at('alice', '2026-03-20 00:00+00')$$, '42501', 'caller may not act on account alice',
                 'a credits_user without a sub claim reads nobody''s balance');

-- as auditor ------------------------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-04-10 12:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 150.000001)$$,
                  'the auditor reads any account''s past balance');

-- as superuser: read-only ---------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is((select provolatile from pg_proc where oid = 'credits.balance_at(text, timestamptz)'::regprocedure),
          's'::"char", 'balance_at is STABLE');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');
SET LOCAL transaction_read_only = on;
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-20 00:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 151.000001)$$,
                  'balance_at runs in a read-only transaction');

SELECT * FROM finish();
ROLLBACK;
