-- The period's counters after reset_credits (issue 17): they read as a fresh
-- period's (granted = the allowances issued, used = 0) in the reset's rows and
-- in get_balance, so the 80, 90 and 100 % thresholds fire again as the reset
-- allowance is spent, then depleted.

BEGIN;
SELECT plan(4);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as admin: the counters after a reset, and the thresholds again (issue 17) ------------------------
-- dana: monthly analysis 1000 and credits 200; 20 credits spent, then reset.
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.act_as('credits_admin');
SELECT code FROM credits.upsert_plan('duo', monthly_allowance => '{"credits": 200, "analysis": 1000}');
SELECT feature FROM credits.set_plan_feature('duo', 'roast');
SELECT tests.act_as('credits_service');
-- Every account watched (SPEC §1 event; issue 13): balance_changed rows are written.
SELECT '' FROM credits.watch_events('pgtap', array['*'], null);
SELECT account_id FROM credits.open_account('dana', 'duo');
SELECT ok FROM credits.deduct_credits('dana', 'roast', amount => 20);
SELECT tests.act_as('credits_admin');
SELECT results_eq($$select credit_type, available, granted_this_period, used_this_period
                    from credits.reset_credits('dana', 'manual_reset: ticket #123') order by credit_type$$,
                  $$values ('analysis'::text, 1000::numeric, 1000::numeric, 0::numeric),
                           ('credits', 200, 200, 0)$$,
                  'after a reset the counters read as a fresh period''s: granted = the allowance (not 2000 and 400), used = 0 (not 20)');
SELECT results_eq($$select credit_type, granted_this_period, used_this_period from credits.get_balance('dana')
                    order by credit_type$$,
                  $$values ('analysis'::text, 1000::numeric, 0::numeric), ('credits', 200, 0)$$,
                  'get_balance reads the same counters');
SELECT tests.act_as('credits_service');
CREATE TEMP TABLE dana_mark ON COMMIT DROP AS SELECT coalesce(max(event_id), 0) AS event_id FROM credits.events;
GRANT SELECT ON dana_mark TO public;
SELECT (credits.deduct_credits('dana', 'roast', amount => a)).ok FROM unnest(array[150, 20, 20, 10]) a;
SELECT is((select array_agg(kind || coalesce(':' || (payload ->> 'threshold'), '') order by event_id)
           from credits.events
           where account_id = 'dana' and credit_type = 'credits' and kind <> 'balance_changed'
             and event_id > (select event_id from dana_mark)),
          '{threshold_crossed:80,threshold_crossed:90,threshold_crossed:100,depleted}'::text[],
          'spending the reset allowance (150, 20, 20, 10 of 200) crosses 80, 90 and 100 % again, then depletes');

-- as superuser ----------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
