-- get_or_create_active_period (SPEC §2 Accounts and balances): it returns
-- the period open_account opened, the same period_id while it runs, and past
-- period_end opens the next one exactly once (two period rows, the returned
-- period_ids those stored), issuing its monthly allowance once, ending with
-- the period, the old one expired; credits.accounts shows the opened period.

BEGIN;
SELECT plan(9);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- as service: get_or_create_active_period ------------------------------------------------
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('pe_pro', 'pro');
SELECT set_config('pe.pro_p1', p.period_id::text, true) FROM credits.get_or_create_active_period('pe_pro') p;
SELECT results_eq(
  $$select p.period_start, p.period_end from credits.get_or_create_active_period('pe_pro') p$$,
  $$select a.period_start, a.period_end from credits.accounts a where a.account_id = 'pe_pro'$$,
  'get_or_create_active_period returns the period open_account opened');
SELECT tests.travel('2026-03-25 08:00+00');
SELECT is((select period_id from credits.get_or_create_active_period('pe_pro')), current_setting('pe.pro_p1')::bigint,
          'while the period runs, get_or_create_active_period returns the same period_id');
SELECT tests.travel('2026-04-10 12:00+00');
SELECT set_config('pe.pro_p2', p.period_id::text, true) FROM credits.get_or_create_active_period('pe_pro') p;
SELECT isnt(current_setting('pe.pro_p2')::bigint, current_setting('pe.pro_p1')::bigint,
            'past period_end get_or_create_active_period opens a new period (new period_id)');
SELECT results_eq(
  $$select period_id, period_start, period_end from credits.get_or_create_active_period('pe_pro')$$,
  $$values (current_setting('pe.pro_p2')::bigint, '2026-04-10 12:00+00'::timestamptz, '2026-05-10 12:00+00'::timestamptz)$$,
  'calling it again returns the same new period, Apr 10 -> May 10');
SELECT results_eq(
  $$select period_start, period_end from credits.accounts where account_id = 'pe_pro'$$,
  $$values ('2026-04-10 12:00+00'::timestamptz, '2026-05-10 12:00+00'::timestamptz)$$,
  'credits.accounts shows the opened period');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select period_start, period_end, plan from credits_private.periods where account_id = 'pe_pro' order by period_start$$,
  $$values ('2026-03-10 12:00+00'::timestamptz, '2026-04-10 12:00+00'::timestamptz, 'pro'::text),
           ('2026-04-10 12:00+00', '2026-05-10 12:00+00', 'pro')$$,
  'pe_pro has exactly two period rows: repeated calls opened the second once');
SELECT results_eq(
  $$select period_id::text from credits_private.periods where account_id = 'pe_pro' order by period_start$$,
  $$values (current_setting('pe.pro_p1')), (current_setting('pe.pro_p2'))$$,
  'the period_ids returned are those of the stored periods');
SELECT results_eq(
  $$select source, amount, remaining, expires_at, period_start from credits_private.grants
    where account_id = 'pe_pro' order by grant_id$$,
  $$values ('monthly'::text, 100::numeric, 0::numeric, '2026-04-10 12:00+00'::timestamptz, '2026-03-10 12:00+00'::timestamptz),
           ('monthly', 100, 100, '2026-05-10 12:00+00', '2026-04-10 12:00+00')$$,
  'get_or_create_active_period issued the new period''s allowance once, ending with the period; the old one expired');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
