-- grant_daily_credits (SPEC §1 grant, §2 grant_daily_credits): one grant per
-- account, credit type and local day, ending at the account's next local
-- midnight, in several time zones (UTC, Asia/Tokyo, Asia/Kolkata at +05:30,
-- America/New_York on the day its clocks go forward); get_balance reports
-- today's grant as issued before the job runs and the same after; each grant
-- has its ledger row, chained on the balance; twice grants nothing;
-- suspended and closed accounts and plans without a daily allowance get
-- nothing; a deduct after the job draws from the grant and issues no second.
-- Timeline (UTC): Mar 8 12:00 the accounts open (tests.daily_accounts());
-- 15:00 is Tokyo's midnight, 18:30 Kolkata's, Mar 9 00:00 UTC's, 04:00 New
-- York's (EDT); Apr 8 12:00 their second period begins.

BEGIN;
SELECT plan(12);
SELECT '' FROM tests.catalog();
SELECT tests.travel('2026-03-08 12:00+00');
SELECT tests.daily_accounts();

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

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

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
