-- reset_credits on a daily allowance (SPEC §2 Corrections): the monthly
-- allowance and today's daily one (for the local day, until the account's
-- next local midnight: Paris here) are voided and issued again; a second
-- reset the same local day does it again, and one daily grant holds the day.

BEGIN;
SELECT plan(6);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT code FROM credits.upsert_plan('drip', monthly_allowance => '{"analysis": 10}',
                                     daily_allowance => '{"credits": 5}');
SELECT feature FROM credits.set_plan_feature('drip', 'roast');

SELECT tests.act_as('credits_service');
SELECT account_id FROM credits.open_account('dave', 'drip', timezone => 'Europe/Paris');

-- as admin: daily allowances, in the account's time zone ------------------------------------
-- 23:30 UTC on 03-20 is 00:30 on 03-21 in Paris
SELECT tests.act_as('credits_admin');
SELECT tests.travel('2026-03-20 23:30+00');
INSERT INTO tests.ids SELECT 'dave_before', tests.last_tx('dave');
SELECT results_eq($$select credit_type, available, buckets from credits.reset_credits('dave', 'drip restart')
                    order by credit_type$$,
                  $$values ('analysis'::text, 10::numeric, '{"monthly": 10}'::jsonb),
                           ('credits', 5, '{"daily": 5}')$$,
                  'drip plan: a reset issues the monthly allowance (analysis 10) again and today''s daily allowance (5)');
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select source, credit_type, amount, local_day, expires_at from credits_private.grants
    where account_id = 'dave' and voided_at is null and remaining > 0 order by grant_id$$,
  $$values ('monthly'::text, 'analysis'::text, 10::numeric, null::date, '2026-04-10 11:00+00'::timestamptz),
           ('daily', 'credits', 5, '2026-03-21'::date, '2026-03-21 23:00+00')$$,
  'the daily grant is for the local day (Mar 21 in Paris) and ends at the next local midnight (23:00 UTC)');
SELECT tests.act_as('credits_service');
SELECT '' FROM credits.deduct_credits('dave', 'roast', amount => 2);
SELECT tests.travel('2026-03-21 08:00+00');
SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'dave_before2', tests.last_tx('dave');
SELECT is((select available from credits.reset_credits('dave', 'again') where credit_type = 'credits'), 5::numeric,
          'a second reset the same local day: the daily allowance is 5 again');
SELECT results_eq($$select kind, amount, source from tests.rows_after('dave', tests.id('dave_before2'))$$,
                  $$values ('void'::text, -10::numeric, null::text), ('grant', 10, 'monthly'),
                           ('void', -3, null), ('grant', 5, 'daily')$$,
                  'a second reset voids the running monthly (10) and daily (3 left) allowances and issues both again');
SELECT tests.act_as_superuser();
SELECT is((select count(*)::int from credits_private.grants
           where account_id = 'dave' and source = 'daily' and local_day = '2026-03-21'), 1,
          'one daily grant holds the local day (the voided one gave it up)');
SELECT tests.act_as('credits_admin');

-- as superuser ----------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
