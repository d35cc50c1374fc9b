-- balance_at across an overdraft and its repayment (issue 15): exact at
-- every moment, negative while in debt, and equal to get_balance now.

BEGIN;
SELECT plan(4);
SELECT tests.catalog();
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('od', signup_grant => '{"credits": 10}', overdraft => '{"credits": 50}');
SELECT '' FROM credits.set_plan_feature('od', 'roast');
SELECT tests.travel('2026-03-10 10:00+00');
SELECT tests.act_as('credits_service');
SELECT tests.open('ba_od', 'od');
SELECT tests.travel('2026-03-10 11:00+00');
SELECT '' FROM credits.deduct_credits('ba_od', 'roast', amount => 30);
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.grant_credits('ba_od', 25, reason => 'repay');
SELECT tests.travel('2026-03-10 13:00+00');
SELECT tests.act_as('credits_service');
SELECT is((select available from credits.balance_at('ba_od', '2026-03-10 10:30+00') where credit_type = 'credits'),
          10::numeric, 'before the debit: 10');
SELECT is((select available from credits.balance_at('ba_od', '2026-03-10 11:30+00') where credit_type = 'credits'),
          -20::numeric, 'in debt: -20');
SELECT is((select available from credits.balance_at('ba_od', '2026-03-10 12:30+00') where credit_type = 'credits'),
          5::numeric, 'repaid by the grant of 25: 5');
SELECT is((select available from credits.balance_at('ba_od', '2026-03-10 13:00+00') where credit_type = 'credits'),
          (select available from credits.get_balance('ba_od') where credit_type = 'credits'),
          'balance_at now equals get_balance');

SELECT * FROM finish();
ROLLBACK;
