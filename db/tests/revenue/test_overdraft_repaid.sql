-- credits.revenue when a purchase repays an overdraft (issue 15): the
-- credits it repaid were spent by the debit that went into debt, so they
-- are revenue at the repayment (feature null), worth their share of the
-- price; the rest as it is spent, adding up to the price exactly.

BEGIN;
SELECT plan(2);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('od', overdraft => '{"credits": 50}');
SELECT '' FROM credits.set_plan_feature('od', 'roast');
SELECT tests.act_as('credits_service');
SELECT tests.open('rvo', 'od');
SELECT '' FROM credits.deduct_credits('rvo', 'roast', amount => 1);
SELECT '' FROM credits.purchase_credits('rvo', 3, 'pay:rvo-1', price => 10.00, currency => 'EUR');
SELECT '' FROM credits.deduct_credits('rvo', 'roast', amount => 2);
SELECT results_eq(
  $$select feature, credits, revenue from credits.revenue where currency = 'EUR' order by feature nulls first$$,
  $$values (null::text, 1::numeric, 3.33::numeric), ('roast', 2, 6.67)$$,
  'the 1 repaid is revenue at the repayment (3.33), the 2 spent after it the rest (6.67)');
SELECT is((select sum(revenue) from credits.revenue where currency = 'EUR'), 10.00::numeric,
          'the price exactly, once all of its credits moved');

SELECT * FROM finish();
ROLLBACK;
