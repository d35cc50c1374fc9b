-- Lazy daily grants (the lazy settling rule; SPEC §2 grant_daily_credits):
-- past midnight, before any job, get_balance and check_feature report the
-- day's grant as issued (check_feature draws from it first, grant_id null);
-- the next deduct issues it (every credit type of the allowance, ending at
-- midnight) after yesterday's remainder expires, one chain, by the user; the
-- account is settled until its next midnight. `day` grants only the accounts
-- whose current local day it is, and the job then grants nothing twice; a
-- suspended account's deduct is refused and issues nothing.
-- Timeline (UTC): Mar 8 12:00 the accounts open (tests.daily_accounts());
-- 15:00 is Tokyo's midnight, 18:30 Kolkata's, Mar 9 00:00 UTC's, 04:00 New
-- York's (EDT); Apr 8 12:00 their second period begins.

BEGIN;
SELECT plan(14);
SELECT '' FROM tests.catalog();
SELECT tests.travel('2026-03-08 12:00+00');
SELECT tests.daily_accounts();

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

SELECT accounts_granted::text FROM credits.grant_daily_credits();
SELECT ok::text FROM credits.deduct_credits('dy_utc', 'roast');
SELECT tests.travel('2026-03-08 15:00+00');
SELECT accounts_granted::text FROM credits.grant_daily_credits();
SELECT tests.travel('2026-03-08 18:30+00');
SELECT accounts_granted::text FROM credits.grant_daily_credits();

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

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
