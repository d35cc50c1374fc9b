-- Balance events (SPEC §1 event; issue 3 "Events"): balance_changed,
-- threshold_crossed at 80 %, 90 % and 100 % (issue 17) of the period's
-- granted credits used, depleted and recovered, written by every path that
-- moves a balance and in the transaction that moved it. tests.kinds(account)
-- lists an account's events since tests.mark(), as kind or kind:threshold.
-- NOTIFY itself is tested in tests/test_events.py.
--
-- The set-based daily job: one balance_changed per account granted,
-- recovered where the account had run dry, nothing on a second run the same
-- day.

BEGIN;
SELECT plan(5);
SELECT '' FROM tests.catalog();
SELECT '' FROM credits.upsert_plan('drip', daily_allowance => '{"credits": 5}');
SELECT '' FROM credits.set_plan_feature('drip', 'roast');

SELECT tests.act_as('credits_service');
-- Every account watched (SPEC §1 event; issue 13): balance_changed rows are written.
SELECT '' FROM credits.watch_events('pgtap', array['*'], null);
SELECT tests.travel('2026-05-10 12:00+00');

-- The set-based daily job.
SELECT tests.travel('2026-05-11 00:10+00');
SELECT (credits.open_account(a, 'drip')).account_id FROM unnest(array['ev_d1', 'ev_d2']) a;
SELECT tests.mark();
SELECT is(accounts_granted, 2, 'the daily job grants both') FROM credits.grant_daily_credits();
SELECT results_eq($$select tests.kinds(a) from unnest(array['ev_d1', 'ev_d2']) a$$,
                  $$values ('{balance_changed}'::text[]), ('{balance_changed}')$$,
                  'the daily job: one balance_changed per account');
SELECT ok FROM credits.deduct_credits('ev_d1', 'roast', amount => 5);
SELECT tests.travel('2026-05-12 00:10+00');
SELECT tests.mark();
SELECT accounts_granted FROM credits.grant_daily_credits();
SELECT results_eq($$select tests.kinds(a) from unnest(array['ev_d1', 'ev_d2']) a$$,
                  $$values ('{balance_changed,recovered}'::text[]), ('{balance_changed}')$$,
                  'next day: ev_d1, which had spent all, recovers');
SELECT tests.mark();
SELECT accounts_granted FROM credits.grant_daily_credits();
SELECT results_eq($$select tests.kinds(a) from unnest(array['ev_d1', 'ev_d2']) a$$,
                  $$values ('{}'::text[]), ('{}')$$, 'the job again the same day: no event');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
