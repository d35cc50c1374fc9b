-- Period arithmetic (SPEC §1 period, §2 get_or_create_active_period):
-- periods are monthly from the billing anchor in the account's time zone,
-- the day clamped to short months and restored after (UTC opened Jan 31:
-- Feb 28, Mar 31, Apr 30; Feb 29 in a leap year), the local wall-clock time
-- kept across DST (Europe/Paris, America/New_York); a period runs until the
-- instant of its period_end, when the next one opens.

BEGIN;
SELECT plan(14);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- UTC, opened Jan 31 10:00: the day is clamped to short months and restored after
SELECT tests.travel('2026-01-31 10:00+00');
SELECT results_eq(
  $$select billing_anchor, period_start, period_end from credits.open_account('pe_utc')$$,
  $$values ('2026-01-31 10:00+00'::timestamptz, '2026-01-31 10:00+00'::timestamptz, '2026-02-28 10:00+00'::timestamptz)$$,
  'UTC account opened Jan 31 10:00: first period Jan 31 -> Feb 28 10:00 (day clamped)');
SELECT set_config('pe.utc_p1', p.period_id::text, true) FROM credits.get_or_create_active_period('pe_utc') p;
SELECT tests.travel('2026-02-28 09:59:59+00');
SELECT results_eq(
  $$select period_id, period_start, period_end from credits.get_or_create_active_period('pe_utc')$$,
  $$values (current_setting('pe.utc_p1')::bigint, '2026-01-31 10:00+00'::timestamptz, '2026-02-28 10:00+00'::timestamptz)$$,
  'one second before period_end the first period is still the active one (same period_id)');
SELECT tests.travel('2026-02-28 10:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_utc')$$,
  $$values ('2026-02-28 10:00+00'::timestamptz, '2026-03-31 10:00+00'::timestamptz)$$,
  'at period_end the second period opens: Feb 28 -> Mar 31 (the anchor day 31 is back)');
SELECT tests.travel('2026-03-31 10:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_utc')$$,
  $$values ('2026-03-31 10:00+00'::timestamptz, '2026-04-30 10:00+00'::timestamptz)$$,
  'third period: Mar 31 -> Apr 30 (clamped again)');
SELECT tests.travel('2026-04-30 10:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_utc')$$,
  $$values ('2026-04-30 10:00+00'::timestamptz, '2026-05-31 10:00+00'::timestamptz)$$,
  'fourth period: Apr 30 -> May 31');

-- Europe/Paris, opened Mar 1 00:30 CET (Feb 28 23:30 UTC): stays at local 00:30 in CEST
SELECT tests.travel('2026-02-28 23:30+00');
SELECT results_eq(
  $$select period_start, period_end from credits.open_account('pe_paris', timezone => 'Europe/Paris')$$,
  $$values ('2026-02-28 23:30+00'::timestamptz, '2026-03-31 22:30+00'::timestamptz)$$,
  'Paris account opened Mar 1 00:30 CET: its first period ends Apr 1 00:30 CEST, Mar 31 22:30 UTC (an hour earlier in UTC)');
SELECT tests.travel('2026-03-31 22:29:59+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_paris')$$,
  $$values ('2026-02-28 23:30+00'::timestamptz, '2026-03-31 22:30+00'::timestamptz)$$,
  'Paris: at 00:29:59 local on Apr 1 the first period still runs');
SELECT tests.travel('2026-03-31 22:30+00');
SELECT results_eq(
  $$select period_start at time zone 'Europe/Paris', period_end at time zone 'Europe/Paris'
    from credits.get_or_create_active_period('pe_paris')$$,
  $$values ('2026-04-01 00:30'::timestamp, '2026-05-01 00:30'::timestamp)$$,
  'Paris: at 00:30 local on Apr 1 the second period opens, Apr 1 00:30 -> May 1 00:30 local');
SELECT tests.travel('2026-10-31 23:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_paris')$$,
  $$values ('2026-09-30 22:30+00'::timestamptz, '2026-10-31 23:30+00'::timestamptz)$$,
  'Paris: across the October change back to CET the period still ends at local 00:30 (Nov 1 00:30 CET = 23:30 UTC)');

-- America/New_York, opened Jan 31 21:00 EST (Feb 1 02:00 UTC): the local day 31 is the anchor
SELECT tests.travel('2026-02-01 02:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.open_account('pe_ny', timezone => 'America/New_York')$$,
  $$values ('2026-02-01 02:00+00'::timestamptz, '2026-03-01 02:00+00'::timestamptz)$$,
  'New York account opened Jan 31 21:00 EST: first period ends Feb 28 21:00 EST (Mar 1 02:00 UTC)');
SELECT tests.travel('2026-03-01 02:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_ny')$$,
  $$values ('2026-03-01 02:00+00'::timestamptz, '2026-04-01 01:00+00'::timestamptz)$$,
  'New York: second period ends Mar 31 21:00 EDT (Apr 1 01:00 UTC): local day 31, DST-shifted in UTC');
SELECT tests.travel('2026-04-01 01:00+00');
SELECT results_eq(
  $$select period_start at time zone 'America/New_York', period_end at time zone 'America/New_York'
    from credits.get_or_create_active_period('pe_ny')$$,
  $$values ('2026-03-31 21:00'::timestamp, '2026-04-30 21:00'::timestamp)$$,
  'New York: third period Mar 31 21:00 -> Apr 30 21:00 local');

-- leap year: opened Jan 31 2028, renews Feb 29
SELECT tests.travel('2028-01-31 10:00+00');
SELECT results_eq(
  $$select period_end from credits.open_account('pe_leap')$$,
  $$values ('2028-02-29 10:00+00'::timestamptz)$$,
  'UTC account opened Jan 31 2028: first period ends Feb 29 (leap year)');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();

SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
