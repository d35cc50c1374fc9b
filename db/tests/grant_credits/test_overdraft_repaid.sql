-- The next grant repays an overdraft first (issue 15; docs/contract.md,
-- Billing depth), whichever grant it is: grant_credits, purchase_credits,
-- the monthly allowance of a period opened lazily, the daily grant issued
-- lazily or by the daily job. The grant's amount stays what was granted,
-- its remaining starts at the amount less what it repaid, and its ledger
-- row's debt is minus the repayment; reads before the write already count
-- the pending grant's repayment, in available and in the buckets (found by
-- the model test: the buckets showed the pending grant whole beside the
-- debt it repays).

BEGIN;
SELECT plan(14);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('odm', monthly_allowance => '{"credits": 20}', overdraft => '{"credits": 50}');
SELECT '' FROM credits.upsert_plan('odd', daily_allowance => '{"credits": 5}', overdraft => '{"credits": 50}');
SELECT '' FROM unnest(array['odm', 'odd']) p, credits.set_plan_feature(p, 'roast');
SELECT tests.act_as('credits_service');
SELECT tests.open(a, 'odm') FROM unnest(array['r_grant', 'r_buy', 'r_month']) a;
SELECT tests.open(a, 'odd') FROM unnest(array['r_day', 'r_lazy']) a;
SELECT '' FROM unnest(array['r_grant', 'r_buy', 'r_month']) a, credits.deduct_credits(a, 'roast', amount => 40);
SELECT '' FROM unnest(array['r_day', 'r_lazy']) a, credits.deduct_credits(a, 'roast', amount => 25);
SELECT results_eq($$select account_id, balance, debt from credits.balances where account_id like 'r\_%' order by 1$$,
                  $$values ('r_buy'::text, -20::numeric, 20::numeric), ('r_day', -20, 20), ('r_grant', -20, 20),
                           ('r_lazy', -20, 20), ('r_month', -20, 20)$$,
                  'each account is 20 in debt');

SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'g', grant_id FROM credits.grant_credits('r_grant', 30, reason => 'goodwill');
SELECT tests.act_as('credits_service');
INSERT INTO tests.ids SELECT 'p', grant_id FROM credits.purchase_credits('r_buy', 15, 'pay-od-1');
SELECT results_eq(
  $$select g.amount, g.remaining, l.amount, l.debt, l.balance_after, l.available_after
    from tests.grants() g join credits.ledger l on l.grant_id = g.grant_id and l.kind = 'grant'
    where g.grant_id in (tests.id('g'), tests.id('p')) order by g.grant_id$$,
  $$values (30::numeric, 10::numeric, 30::numeric, -20::numeric, 10::numeric, 10::numeric),
           (15, 0, 15, -15, -5, -5)$$,
  'grant_credits 30 repays the 20 first (10 left in the grant); a purchase of 15 repays 15 (nothing left, 5 still owed)');
SELECT results_eq($$select account_id, balance, debt from credits.balances where account_id in ('r_grant', 'r_buy') order by 1$$,
                  $$values ('r_buy'::text, -5::numeric, 5::numeric), ('r_grant', 10, 0)$$,
                  'the balances: r_grant out of debt with 10, r_buy 5 in debt');

-- The next local day: the daily grant, lazily and by the job.
SELECT tests.travel('2026-03-11 12:00+00');
SELECT is((select available from credits.get_balance('r_lazy') where credit_type = 'credits'), -15::numeric,
          'read before it is issued, the pending daily grant already repays 5 of the 20');
SELECT is((select buckets from credits.get_balance('r_lazy') where credit_type = 'credits'),
          '{"overdraft": -15}'::jsonb,
          'its buckets too: nothing left of the pending daily grant, 15 still owed (not daily 5 beside -20)');
SELECT results_eq($$select allowed, available from credits.check_feature('r_lazy', 'roast')$$,
                  $$values (true, -15::numeric)$$, 'check_feature agrees');
SELECT '' FROM credits.deduct_credits('r_lazy', 'roast', amount => 1);
SELECT results_eq(
  $$select amount, remaining from tests.grants('r_lazy', 'daily') where local_day = '2026-03-11'$$,
  $$values (5::numeric, 0::numeric)$$, 'issued lazily by the next debit: all of it repaid');
SELECT results_eq($$select balance, debt from credits.balances where account_id = 'r_lazy'$$,
                  $$values (-16::numeric, 16::numeric)$$, 'then the debit went 1 further into debt: -16');
SELECT '' FROM credits.grant_daily_credits();
SELECT results_eq(
  $$select g.amount, g.remaining, l.debt, l.available_after
    from tests.grants('r_day', 'daily') g join credits.ledger l on l.grant_id = g.grant_id and l.kind = 'grant'
    where g.local_day = '2026-03-11'$$,
  $$values (5::numeric, 0::numeric, -5::numeric, -15::numeric)$$,
  'the daily job''s grant repays as well, its ledger row saying so');

-- A renewal: the monthly allowance of a period opened lazily.
SELECT tests.travel('2026-04-10 12:05+00');
SELECT is((select available from credits.get_balance('r_month') where credit_type = 'credits'), 0::numeric,
          'read before the period opens: the pending allowance of 20 repays the 20 owed');
SELECT is((select buckets from credits.get_balance('r_month') where credit_type = 'credits'), '{}'::jsonb,
          'its buckets: nothing left of the pending allowance, nothing owed (not monthly 20 beside -20)');
SELECT '' FROM credits.get_or_create_active_period('r_month');
SELECT results_eq(
  $$select g.amount, g.remaining, l.debt, l.balance_after
    from tests.grants('r_month', 'monthly') g join credits.ledger l on l.grant_id = g.grant_id and l.kind = 'grant'
    where g.period_start = '2026-04-10 12:00+00'$$,
  $$values (20::numeric, 0::numeric, -20::numeric, 0::numeric)$$,
  'opened, the allowance repays the 20 owed: nothing left in it, the balance back at 0');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation where account_id like 'r\_%'$$,
                'reconciliation: every repayment reconciles');
SELECT tests.ledger_is_chained();

SELECT * FROM finish();
ROLLBACK;
