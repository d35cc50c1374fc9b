-- A suspended account moves to the new period but gets no allowance (SPEC
-- §2): the new period is reported with no pending allowance, and
-- get_or_create_active_period opens it without a monthly grant.

BEGIN;
SELECT plan(4);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- as service: a suspended account moves to the new period but gets no allowance
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-06-01 08:00+00');
SELECT account_id FROM credits.open_account('pe_susp', 'pro');
SELECT status FROM credits.set_account_status('pe_susp', 'suspended', 'chargeback');
SELECT tests.travel('2026-07-02 08:00+00');
SELECT results_eq(
  $$select available, granted_this_period, period_start from credits.get_balance('pe_susp')
    where credit_type = 'credits'$$,
  $$values (0::numeric, 0::numeric, '2026-07-01 08:00+00'::timestamptz)$$,
  'suspended account: the new period is reported with no pending allowance');
SELECT results_eq(
  $$select period_start from credits.get_or_create_active_period('pe_susp')$$,
  $$values ('2026-07-01 08:00+00'::timestamptz)$$,
  'suspended account: get_or_create_active_period opens the current period');
SELECT tests.act_as_superuser();
SELECT is((select count(*)::int from credits_private.grants where account_id = 'pe_susp' and source = 'monthly'), 1,
          'suspended account: no monthly grant for the new period (only the first one)');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
