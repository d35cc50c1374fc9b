-- Daily grants (SPEC §1 grant, §2 grant_daily_credits, the lazy settling
-- rule, §3 roles).
--
-- grant_daily_credits: one grant per account, credit type and local day,
-- ending at the account's next local midnight, in several time zones (UTC,
-- Asia/Tokyo, Asia/Kolkata at +05:30, America/New_York on the day its clocks
-- go forward); twice grants nothing; suspended and closed accounts and plans
-- without a daily allowance get nothing; `day` grants only the accounts
-- whose current local day it is; each grant's ledger row says what is
-- available after it (nothing to settle; an ended grant; an ended grant a
-- hold earmarks). The previous day's grant ends at local midnight
-- (non-cumulative) and its expiry follows in the ledger. Lazy: the
-- next deduct issues a missed daily grant (every credit type of the
-- allowance), reads report it as issued beforehand (get_balance available,
-- granted_this_period, buckets; check_feature available and draws, with a
-- pending monthly allowance too), and the job then grants nothing twice.
-- Roles: service and admin run the job; users and the auditor may not.
--
-- Timeline (UTC): Mar 8 12:00 accounts open, the job runs; 15:00 Tokyo's
-- midnight; 18:30 Kolkata's; Mar 9 01:00 a deduct after UTC's midnight;
-- 04:00 New York's (EDT); Apr 8 13:00 a new period and a new day at once.

BEGIN;
SELECT plan(47);
SELECT '' FROM tests.catalog();
SELECT tests.travel('2026-03-08 12:00+00');


-- as admin (superuser): plans with daily allowances
SELECT code FROM credits.upsert_plan('drip', signup_grant => '{"credits": 2}',
                                     daily_allowance => '{"credits": 5, "analysis": 1}');
SELECT code FROM credits.upsert_plan('drip_pro', monthly_allowance => '{"credits": 100}',
                                     daily_allowance => '{"credits": 5}');
SELECT pf.feature
FROM unnest(array['drip', 'drip_pro']) p, unnest(array['roast', 'video', 'analysis_run']) f,
     credits.set_plan_feature(p, f) pf;

-- as service: the job, in several time zones -------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT o.account_id
FROM (values ('dy_utc', 'drip', 'UTC'), ('dy_tokyo', 'drip', 'Asia/Tokyo'),
             ('dy_kolkata', 'drip', 'Asia/Kolkata'), ('dy_ny', 'drip', 'America/New_York'),
             ('dy_susp', 'drip', 'UTC'), ('dy_closed', 'drip', 'UTC'), ('dy_free', 'free', 'UTC'),
             ('dy_both', 'drip_pro', 'UTC')) v (account_id, plan, timezone),
     credits.open_account(v.account_id, v.plan, timezone => v.timezone) o;
SELECT account_id FROM credits.set_account_status('dy_susp', 'suspended', 'chargeback 8812');
SELECT account_id FROM credits.set_account_status('dy_closed', 'closed', 'user left');

SELECT results_eq(
  $$select credit_type, available, granted_this_period, buckets from credits.get_balance('dy_utc')$$,
  $$values ('analysis'::text, 1::numeric, 1::numeric, '{"daily": 1}'::jsonb),
           ('credits', 7, 7, '{"daily": 5, "signup": 2}')$$,
  'before the job runs, get_balance reports today''s daily grant as issued (both credit types)');
SELECT results_eq(
  $$select credit_type, available, buckets from credits.get_balance('dy_susp')$$,
  $$values ('analysis'::text, 0::numeric, '{}'::jsonb), ('credits', 2, '{"signup": 2}')$$,
  'a suspended account is reported no daily grant');

SELECT is((select accounts_granted from credits.grant_daily_credits()), 5,
          'the job grants 5 accounts: UTC, Tokyo, Kolkata, New York and the monthly+daily plan');
SELECT results_eq(
  $$select account_id, credit_type, amount, local_day, expires_at, priority, source
    from tests.grants() where source = 'daily' order by account_id, credit_type$$,
  $$values ('dy_both'::text, 'credits'::text, 5::numeric, '2026-03-08'::date, '2026-03-09 00:00+00'::timestamptz, 100, 'daily'::text),
           ('dy_kolkata', 'analysis', 1, '2026-03-08', '2026-03-08 18:30+00', 100, 'daily'),
           ('dy_kolkata', 'credits', 5, '2026-03-08', '2026-03-08 18:30+00', 100, 'daily'),
           ('dy_ny', 'analysis', 1, '2026-03-08', '2026-03-09 04:00+00', 100, 'daily'),
           ('dy_ny', 'credits', 5, '2026-03-08', '2026-03-09 04:00+00', 100, 'daily'),
           ('dy_tokyo', 'analysis', 1, '2026-03-08', '2026-03-08 15:00+00', 100, 'daily'),
           ('dy_tokyo', 'credits', 5, '2026-03-08', '2026-03-08 15:00+00', 100, 'daily'),
           ('dy_utc', 'analysis', 1, '2026-03-08', '2026-03-09 00:00+00', 100, 'daily'),
           ('dy_utc', 'credits', 5, '2026-03-08', '2026-03-09 00:00+00', 100, 'daily')$$,
  'one grant per account and credit type for its local day, ending at its next local midnight: '
  'Kolkata 00:00 IST = 18:30 UTC, Tokyo 00:00 JST = 15:00 UTC, New York 00:00 EDT = 04:00 UTC '
  '(Mar 8 has 23 hours there: clocks went forward)');
SELECT is_empty(
  $$select account_id from tests.grants()
    where source = 'daily' and account_id in ('dy_susp', 'dy_closed', 'dy_free')$$,
  'suspended and closed accounts, and a plan without a daily allowance, get no daily grant');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 0, 'the job run twice grants nothing');
SELECT is((select count(*)::integer from tests.grants() where source = 'daily'), 9,
          'still 9 daily grants after the second run');
SELECT results_eq(
  $$select credit_type, kind, amount, balance_before, balance_after, available_after, reason
    from credits.ledger where account_id = 'dy_utc' order by transaction_id$$,
  $$values ('credits'::text, 'grant'::text, 2::numeric, 0::numeric, 2::numeric, 2::numeric, 'signup grant of plan drip'::text),
           ('analysis', 'grant', 1, 0, 1, 1, 'daily allowance of plan drip for 2026-03-08'),
           ('credits', 'grant', 5, 2, 7, 7, 'daily allowance of plan drip for 2026-03-08')$$,
  'each daily grant has its grant ledger row, chained on the balance (the analysis balance row is new)');
SELECT results_eq(
  $$select credit_type, available, granted_this_period, buckets from credits.get_balance('dy_utc')$$,
  $$values ('analysis'::text, 1::numeric, 1::numeric, '{"daily": 1}'::jsonb),
           ('credits', 7, 7, '{"daily": 5, "signup": 2}')$$,
  'after the job get_balance reports the same as before it');
SELECT results_eq(
  $$select ok, charged, available from credits.deduct_credits('dy_utc', 'roast')$$,
  $$values (true, 1::numeric, 6::numeric)$$,
  'a deduct draws from the daily grant');
SELECT is((select count(*)::integer from tests.grants() where source = 'daily' and account_id = 'dy_utc'), 2,
          'the deduct after the job issues no second daily grant');

-- Tokyo's midnight: yesterday's grant ends, today's is issued. An hour
-- before, a hold of 3 (until 16:00) earmarks the Mar 8 grant.
SELECT tests.travel('2026-03-08 14:00+00');
SELECT results_eq(
  $$select ok, held from credits.reserve_credits('dy_tokyo', 'roast', ttl => '2 hours', amount => 3)$$,
  $$values (true, 3::numeric)$$,
  'Tokyo reserves 3 at 23:00 local, until 01:00');
SELECT tests.travel('2026-03-08 15:00+00');
SELECT results_eq(
  $$select credit_type, available, buckets from credits.get_balance('dy_tokyo')$$,
  $$values ('analysis'::text, 1::numeric, '{"daily": 1}'::jsonb), ('credits', 7, '{"daily": 5, "signup": 2}')$$,
  'at Tokyo''s midnight the Mar 8 grant no longer counts and the Mar 9 one is reported: 1 and 5, not 2 and 10');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 1, 'at 15:00 UTC the job grants Tokyo only');
SELECT results_eq(
  $$select local_day, expires_at from tests.grants()
    where account_id = 'dy_tokyo' and source = 'daily' and credit_type = 'credits' order by local_day$$,
  $$values ('2026-03-08'::date, '2026-03-08 15:00+00'::timestamptz), ('2026-03-09', '2026-03-09 15:00+00')$$,
  'Tokyo''s Mar 9 grant ends at the next local midnight, Mar 9 15:00 UTC');
SELECT results_eq(
  $$select balance_before, balance_after, available_after from credits.ledger
    where account_id = 'dy_tokyo' and credit_type = 'credits' and reason like '%for 2026-03-09'$$,
  $$values (7::numeric, 12::numeric, 7::numeric)$$,
  'the job''s grant row says what is available: the signup 2 and the new 5; the Mar 8 grant ended, its held 3 is the hold''s');
SELECT is((select grants_expired from credits.expire_grants()), 2, 'expire_grants then expires Tokyo''s two Mar 8 grants');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after from credits.ledger
    where account_id = 'dy_tokyo' and credit_type = 'analysis' order by transaction_id$$,
  $$values ('grant'::text, 1::numeric, 0::numeric, 1::numeric), ('grant', 1, 1, 2), ('expiry', -1, 2, 1)$$,
  'Tokyo analysis ledger: Mar 8 grant, Mar 9 grant (issued before the expiry was written), Mar 8 expiry; one chain');

SELECT tests.travel('2026-03-08 18:30+00');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 1, 'at 18:30 UTC the job grants Kolkata only');
SELECT is((select local_day from tests.grants()
           where account_id = 'dy_kolkata' and source = 'daily' and credit_type = 'credits' and expires_at > credits.now()),
          '2026-03-09'::date, 'Kolkata''s new grant is for its local day Mar 9');

-- as user dy_utc: lazy issuance on the next deduct, reads before it -----------------------
SELECT tests.travel('2026-03-09 01:00+00');
SELECT tests.act_as('credits_user', 'dy_utc');
SELECT results_eq(
  $$select credit_type, available, granted_this_period, buckets from credits.get_balance('dy_utc')$$,
  $$values ('analysis'::text, 1::numeric, 2::numeric, '{"daily": 1}'::jsonb),
           ('credits', 7, 12, '{"daily": 5, "signup": 2}')$$,
  'the next day, before any job, get_balance reports the new daily grant (yesterday''s 4 left do not carry over)');
SELECT results_eq(
  $$select allowed, available, draws from credits.check_feature('dy_utc', 'video', '{"seconds": 12}')$$,
  $$values (true, 7::numeric,
            jsonb_build_array(jsonb_build_object('grant_id', null, 'source', 'daily', 'amount', 5),
                              jsonb_build_object('grant_id', (select grant_id from credits.ledger
                                                              where account_id = 'dy_utc' and kind = 'grant'
                                                                and reason like 'signup%'),
                                                 'source', 'signup', 'amount', 1)))$$,
  'check_feature draws from the daily grant still to issue first (grant_id null), then the signup grant');
SELECT results_eq(
  $$select ok, charged, available from credits.deduct_credits('dy_utc', 'roast')$$,
  $$values (true, 1::numeric, 6::numeric)$$,
  'the user''s deduct succeeds with what get_balance reported');

SELECT tests.act_as('credits_service');
SELECT results_eq(
  $$select credit_type, local_day, expires_at from tests.grants()
    where account_id = 'dy_utc' and source = 'daily' and local_day = '2026-03-09' order by credit_type$$,
  $$values ('analysis'::text, '2026-03-09'::date, '2026-03-10 00:00+00'::timestamptz),
           ('credits', '2026-03-09', '2026-03-10 00:00+00')$$,
  'the deduct issued the missed daily grants of every credit type of the allowance, ending at midnight');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, actor from credits.ledger
    where account_id = 'dy_utc' and credit_type = 'credits' and created_at = '2026-03-09 01:00+00'
    order by transaction_id$$,
  $$values ('expiry'::text, -4::numeric, 6::numeric, 2::numeric, 'dy_utc'::text), ('grant', 5, 2, 7, 'dy_utc'),
           ('debit', -1, 7, 6, 'dy_utc')$$,
  'lazy path ledger: yesterday''s remainder expires, the new daily grant, then the debit; one chain, by the user');
SELECT is((select daily_until from tests.accounts() where account_id = 'dy_utc'),
          '2026-03-10 00:00+00'::timestamptz, 'the account''s daily grants are settled until its next midnight');
SELECT is((select accounts_granted from credits.grant_daily_credits('2026-03-08')), 0,
          'day => Mar 8 grants nothing: over everywhere but New York, which has it');
SELECT is((select accounts_granted from credits.grant_daily_credits('2026-03-10')), 0,
          'day => Mar 10 grants nothing: it has begun for no account');
SELECT is((select accounts_granted from credits.grant_daily_credits('2026-03-09')), 1,
          'day => Mar 9 grants only dy_both: dy_utc got its grant from the lazy path, Tokyo and Kolkata from the job');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 0, 'then the job grants nothing twice');
SELECT results_eq(
  $$select ok, available from credits.deduct_credits('dy_susp', 'roast')$$,
  $$values (false, 2::numeric)$$,
  'a suspended account''s deduct is refused and issues no daily grant');
SELECT is((select count(*)::integer from tests.grants() where account_id = 'dy_susp' and source = 'daily'), 0,
          'the suspended account still has no daily grant');
SELECT results_eq(
  $$select ok, available from credits.deduct_credits('dy_free', 'roast')$$,
  $$values (true, 5::numeric)$$,
  'a deduct on a plan without a daily allowance issues no daily grant (6 - 1)');

-- New York's midnight, the day after its clocks went forward
SELECT tests.travel('2026-03-09 03:59:59+00');
SELECT is((select available from credits.get_balance('dy_ny') where credit_type = 'credits'), 7::numeric,
          'New York at 23:59:59 EDT Mar 8 still has its Mar 8 grant');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 0, 'and the job grants it nothing yet');
SELECT tests.travel('2026-03-09 04:00+00');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 1, 'at 00:00 EDT the job grants New York');
SELECT results_eq(
  $$select balance_before, balance_after, available_after from credits.ledger
    where account_id = 'dy_ny' and credit_type = 'credits' and reason like '%for 2026-03-09'$$,
  $$values (7::numeric, 12::numeric, 7::numeric)$$,
  'New York''s grant row: balance 12 until the Mar 8 grant''s expiry is written, 7 available');
SELECT is((select expires_at from tests.grants()
           where account_id = 'dy_ny' and source = 'daily' and credit_type = 'credits' and local_day = '2026-03-09'),
          '2026-03-10 04:00+00'::timestamptz, 'New York''s Mar 9 grant ends at 00:00 EDT Mar 10');

-- A new period and a new day at once: monthly and daily both pending
SELECT tests.travel('2026-04-08 13:00+00');
SELECT results_eq(
  $$select available, granted_this_period, used_this_period, buckets from credits.get_balance('dy_both') where credit_type = 'credits'$$,
  $$values (105::numeric, 105::numeric, 0::numeric, '{"daily": 5, "monthly": 100}'::jsonb)$$,
  'a new period on a new day: get_balance reports the monthly allowance and the daily grant, both to issue');
SELECT results_eq(
  $$select allowed, available, draws from credits.check_feature('dy_both', 'video', '{"seconds": 12}')$$,
  $$values (true, 105::numeric,
            '[{"grant_id": null, "source": "daily", "amount": 5}, {"grant_id": null, "source": "monthly", "amount": 1}]'::jsonb)$$,
  'check_feature draws the pending daily grant (ends tonight) before the pending monthly one (ends with the period)');
SELECT results_eq(
  $$select ok, charged, available from credits.deduct_credits('dy_both', 'video', '{"seconds": 12}')$$,
  $$values (true, 6::numeric, 99::numeric)$$,
  'the deduct opens the period, issues both and charges 6');
SELECT results_eq(
  $$select granted_this_period, used_this_period from credits.get_balance('dy_both') where credit_type = 'credits'$$,
  $$values (105::numeric, 6::numeric)$$,
  'the new period counts the monthly and the daily grant as granted');

-- as admin: may run the job ------------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 4,
          'an admin may run the job (Apr 8 for the four other active drip accounts)');
SELECT results_eq(
  $$select period_start, granted_this_period, used_this_period from credits.get_balance('dy_utc')
    where credit_type = 'credits'$$,
  $$values ('2026-04-08 12:00+00'::timestamptz, 5::numeric, 0::numeric)$$,
  'the job counts a grant in the period settling opens (Apr 8 ->), not in the stored one that ended');

-- as user and auditor: may not -----------------------------------------------------------
SELECT tests.act_as('credits_user', 'dy_utc');
SELECT throws_ok($$select * from credits.grant_daily_credits()$$, '42501', 'permission denied for function grant_daily_credits',
                 'a user may not run grant_daily_credits');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.grant_daily_credits()$$, '42501', 'permission denied for function grant_daily_credits',
                 'the auditor may not run grant_daily_credits');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
