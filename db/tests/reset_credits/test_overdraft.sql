-- reset_credits, void_grant and set_account_status on a balance in debt
-- (issue 15; docs/decisions.md, "Overdraft"): a reset does not forgive the
-- debt, its new allowance repays it first; a void takes back what is left
-- in a grant and leaves the debt as it is; closing an account keeps its
-- debt on the ledger, and reads still show it.

BEGIN;
SELECT plan(5);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('odm', monthly_allowance => '{"credits": 20}', overdraft => '{"credits": 50}');
SELECT '' FROM credits.set_plan_feature('odm', 'roast');
SELECT tests.act_as('credits_service');
SELECT tests.open(a, 'odm') FROM unnest(array['rs_a', 'rs_v']) a;
SELECT '' FROM unnest(array['rs_a', 'rs_v']) a, credits.deduct_credits(a, 'roast', amount => 50);
SELECT tests.act_as('credits_admin');
SELECT results_eq($$select available from credits.reset_credits('rs_a', 'support ticket 9') where credit_type = 'credits'$$,
                  $$values (-10::numeric)$$, 'a reset while 30 in debt: the new allowance of 20 repays 20 of it');
SELECT results_eq($$select balance, debt from credits.balances where account_id = 'rs_a'$$,
                  $$values (-10::numeric, 10::numeric)$$, 'the debt left: 10');

INSERT INTO tests.ids SELECT 'promo', grant_id FROM credits.grant_credits('rs_v', 40, 'promo', reason => 'promo');
SELECT '' FROM credits.void_grant(tests.id('promo'), 'granted by mistake');
SELECT results_eq($$select balance, debt from credits.balances where account_id = 'rs_v'$$,
                  $$values (0::numeric, 0::numeric)$$,
                  'a grant of 40 that repaid 30 and is voided: only its 10 left is taken back, the repayment stands');
SELECT '' FROM credits.set_account_status('rs_a', 'closed', 'account closed while in debt');
SELECT results_eq($$select balance, debt, available from credits.balances where account_id = 'rs_a'$$,
                  $$values (-10::numeric, 10::numeric, -10::numeric)$$, 'closed: the debt stays, and shows');
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation where account_id like 'rs\_%'$$, 'reconciliation');

SELECT * FROM finish();
ROLLBACK;
