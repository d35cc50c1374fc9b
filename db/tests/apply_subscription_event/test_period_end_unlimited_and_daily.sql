-- A new period_end for the same period moves the end of the period and of
-- its monthly grant; pro -> team (unlimited) is an upgrade, at once, team ->
-- premium (limited) waits for the period's end; a new plan's daily allowance
-- for today is issued with the change, ending at midnight (SPEC §2
-- apply_subscription_event).

BEGIN;
SELECT plan(8);
SELECT '' FROM tests.catalog();
SELECT tests.subscription_plans();

SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('sub_c');
SELECT account_id FROM credits.open_account('sub_d');

-- as service: the provider moves the period's end -------------------------------------------------
SELECT tests.travel('2026-03-10 12:00+00');
SELECT plan FROM credits.apply_subscription_event('e_c1', 'sub_c', 'pro', 'active', '2026-03-10 12:00+00',
                                                  '2026-04-10 12:00+00');
SELECT results_eq(
  $$select period_start, period_end
    from credits.apply_subscription_event('e_c2', 'sub_c', 'pro', 'trialing', '2026-03-10 12:00+00', '2026-04-20 12:00+00')$$,
  $$values ('2026-03-10 12:00+00'::timestamptz, '2026-04-20 12:00+00'::timestamptz)$$,
  'same period_start, later period_end: the period is extended to the provider''s end');
SELECT tests.travel('2026-04-15 12:00+00');
SELECT results_eq(
  $$select available, period_start, period_end from tests.bal('sub_c')$$,
  $$values (100::numeric, '2026-03-10 12:00+00'::timestamptz, '2026-04-20 12:00+00'::timestamptz)$$,
  'on Apr 15 the monthly allowance still runs: it ends with the moved period');
SELECT results_eq(
  $$select amount, expires_at from tests.grants('sub_c', 'monthly') where expired_at is null$$,
  $$values (100::numeric, '2026-04-20 12:00+00'::timestamptz)$$, 'the monthly grant ends at the new period_end');

-- as service: upgrade to an unlimited plan, downgrade from it ---------------------------------------
SELECT tests.travel('2026-04-16 12:00+00');
SELECT results_eq(
  $$select plan from credits.apply_subscription_event('e_c3', 'sub_c', 'team', 'active',
                                                      '2026-03-10 12:00+00', '2026-04-20 12:00+00')$$,
  $$values ('team'::text)$$, 'pro -> team (unlimited) is an upgrade: at once');
SELECT results_eq(
  $$select plan from credits.apply_subscription_event('e_c4', 'sub_c', 'premium', 'active',
                                                      '2026-03-10 12:00+00', '2026-04-20 12:00+00')$$,
  $$values ('team'::text)$$, 'team -> premium (limited) waits for the period''s end');

-- as service: a new plan's daily allowance starts at once --------------------------------------------
SELECT tests.travel('2026-03-20 12:00+00');
SELECT results_eq(
  $$select plan from credits.apply_subscription_event('e_d1', 'sub_d', 'dripper', 'active',
                                                      '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$,
  $$values ('dripper'::text)$$, 'free -> dripper (the same 10 a month, and 2 a day) is an upgrade');
SELECT results_eq(
  $$select amount, local_day, expires_at from tests.grants('sub_d', 'daily')$$,
  $$values (2::numeric, '2026-03-20'::date, '2026-03-21 00:00+00'::timestamptz)$$,
  'the new plan''s daily allowance for today is issued with the upgrade, ending at midnight');

-- as superuser -------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
