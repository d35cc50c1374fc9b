-- An idle account (SPEC §1 period, the lazy settling rule): opened Jan 5 and
-- next seen Jun 20, before settling get_balance reports the period containing
-- now; settling opens that period only, with one monthly allowance (January's
-- expires), nothing and no period row for the months between.

BEGIN;
SELECT plan(6);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- idle account: opened Jan 5, next seen Jun 20
SELECT tests.travel('2026-01-05 09:00+00');
SELECT account_id FROM credits.open_account('pe_idle', 'pro');
SELECT tests.travel('2026-06-20 12:00+00');
SELECT results_eq(
  $$select available, period_start, period_end from credits.get_balance('pe_idle') where credit_type = 'credits'$$,
  $$values (100::numeric, '2026-06-05 09:00+00'::timestamptz, '2026-07-05 09:00+00'::timestamptz)$$,
  'before settling, get_balance of the idle account reports the period containing now, Jun 5 -> Jul 5');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_idle')$$,
  $$values ('2026-06-05 09:00+00'::timestamptz, '2026-07-05 09:00+00'::timestamptz)$$,
  'an idle account seen months later opens the period containing now: Jun 5 -> Jul 5');
SELECT results_eq(
  $$select available, granted_this_period, buckets from credits.get_balance('pe_idle') where credit_type = 'credits'$$,
  $$values (100::numeric, 100::numeric, '{"monthly": 100}'::jsonb)$$,
  'the idle account has one monthly allowance, not one per skipped month');
SELECT results_eq(
  $$select kind, amount from credits.ledger where account_id = 'pe_idle' order by transaction_id$$,
  $$values ('grant'::text, 100::numeric), ('expiry', -100), ('grant', 100)$$,
  'idle account ledger: January''s allowance, its expiry, June''s allowance; nothing for the months between');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select period_start from credits_private.periods where account_id = 'pe_idle' order by period_start$$,
  $$values ('2026-01-05 09:00+00'::timestamptz), ('2026-06-05 09:00+00')$$,
  'the idle account has no periods for the skipped months');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
