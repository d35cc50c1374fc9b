-- A new period and a new day at once (SPEC §2 grant_daily_credits, §3 roles):
-- get_balance reports the monthly allowance and the daily grant, both to
-- issue; check_feature draws the daily one (ends tonight) before the monthly
-- one; the deduct opens the period and issues both, which count as granted.
-- Service and admin run the job (it counts a grant in the period settling
-- opens); users and the auditor may not (42501).
-- Timeline (UTC): Mar 8 12:00 the accounts open (tests.daily_accounts());
-- 15:00 is Tokyo's midnight, 18:30 Kolkata's, Mar 9 00:00 UTC's, 04:00 New
-- York's (EDT); Apr 8 12:00 their second period begins.

BEGIN;
SELECT plan(9);
SELECT '' FROM tests.catalog();
SELECT tests.travel('2026-03-08 12:00+00');
SELECT tests.daily_accounts();

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

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
SELECT throws_ok($$select * from credits.grant_daily_credits()$$, '42501',
                 'permission denied for function grant_daily_credits', 'a user may not run grant_daily_credits');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.grant_daily_credits()$$, '42501',
                 'permission denied for function grant_daily_credits', 'the auditor may not run grant_daily_credits');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
