-- The signup grant is issued once (SPEC §1 grant): a plan with both a signup
-- grant and a monthly allowance (starter: 10 at signup, 20 a month) keeps the
-- signup credits across periods and issues a monthly grant per opened period,
-- no signup grant on rollover.

BEGIN;
SELECT plan(4);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as admin (superuser): a plan with both a signup grant and a monthly allowance
SELECT code FROM credits.upsert_plan('starter', signup_grant => '{"credits": 10}',
                                     monthly_allowance => '{"credits": 20}');
SELECT feature FROM credits.set_plan_feature('starter', 'roast');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- as service: the signup grant is issued once (starter: 10 at signup, 20 a month) ----------
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('pe_starter', 'starter');
SELECT tests.travel('2026-05-15 12:00+00');
SELECT results_eq(
  $$select available, granted_this_period, period_start, buckets
    from credits.get_balance('pe_starter') where credit_type = 'credits'$$,
  $$values (30::numeric, 20::numeric, '2026-05-10 12:00+00'::timestamptz, '{"signup": 10, "monthly": 20}'::jsonb)$$,
  'starter two periods later, unsettled: signup credits stay, the pending allowance is 20');
SELECT results_eq(
  $$select ok, available from credits.deduct_credits('pe_starter', 'roast')$$,
  $$values (true, 29::numeric)$$,
  'starter: the deduct that opens the period draws from the new monthly grant');
SELECT results_eq(
  $$select kind, amount, metadata ->> 'source' from credits.ledger
    where account_id = 'pe_starter' and kind = 'grant' order by transaction_id$$,
  $$values ('grant'::text, 10::numeric, 'signup'::text), ('grant', 20, 'monthly'), ('grant', 20, 'monthly')$$,
  'starter: one signup grant at open, a monthly grant per opened period, no signup grant on rollover');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();

SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
