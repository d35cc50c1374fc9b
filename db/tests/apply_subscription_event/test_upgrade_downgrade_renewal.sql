-- Plan changes within a provider's period (SPEC §2 apply_subscription_event):
-- an upgrade at once (pro with 30 used -> premium: 470 left, an `adjustment`
-- row on the period's monthly grant, a credit type the old plan lacked issued
-- in full, plan_changed cause upgrade); a downgrade at the period's end (the
-- account keeps its plan and allowance until then; past the end, reads report
-- the ended period and no allowance, with the scheduled plan's rules, and
-- write nothing; the next mutating call switches the plan, cause scheduled);
-- the renewal then opens exactly the provider's period with the allowance.

BEGIN;
SELECT plan(23);
SELECT '' FROM tests.catalog();
SELECT tests.subscription_plans();

SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('sub_a');

SELECT tests.sub_a_subscribed();
INSERT INTO tests.ids SELECT 'a_monthly', grant_id FROM tests.grants('sub_a', 'monthly') WHERE expired_at IS NULL;

-- as service: upgrade at once ------------------------------------------------------------
SELECT tests.travel('2026-03-15 12:00+00');
SELECT results_eq($$select ok, available from credits.deduct_credits('sub_a', 'roast', amount => 30)$$,
                  $$values (true, 70::numeric)$$, 'sub_a uses 30 of pro''s 100');
SELECT tests.travel('2026-03-20 12:00+00');
SELECT results_eq(
  $$select plan, period_start, period_end
    from credits.apply_subscription_event('e_a2', 'sub_a', 'premium', 'active', '2026-03-12 08:00+00', '2026-04-12 08:00+00')$$,
  $$values ('premium'::text, '2026-03-12 08:00+00'::timestamptz, '2026-04-12 08:00+00'::timestamptz)$$,
  'upgrade to premium in the same period: the plan changes at once, the period stays');
SELECT results_eq(
  $$select credit_type, available, granted_this_period, used_this_period from credits.get_balance('sub_a') order by 1$$,
  $$values ('analysis'::text, 20::numeric, 20::numeric, 0::numeric), ('credits', 470, 500, 30)$$,
  'upgrade arithmetic: premium''s 500 less the 30 used is 470; analysis (new to the plan) 20 in full');
SELECT results_eq(
  $$select credit_type, kind, amount, balance_before, balance_after, grant_id = tests.id('a_monthly')
    from credits.ledger where account_id = 'sub_a' and created_at = '2026-03-20 12:00+00' order by transaction_id$$,
  $$values ('analysis'::text, 'grant'::text, 20::numeric, 0::numeric, 20::numeric, false),
           ('credits', 'adjustment', 400, 70, 470, true)$$,
  'the upgrade is a grant of analysis credits and one adjustment of +400 on the period''s monthly grant');
SELECT results_eq(
  $$select amount, remaining, expires_at from tests.grants('sub_a', 'monthly') where grant_id = tests.id('a_monthly')$$,
  $$values (500::numeric, 470::numeric, '2026-04-12 08:00+00'::timestamptz)$$,
  'the period''s monthly grant now holds premium''s allowance: amount 500, 470 left, same end');
SELECT results_eq(
  $$select payload ->> 'from', payload ->> 'to', payload ->> 'cause', payload ->> 'event_id' from credits.events
    where account_id = 'sub_a' and kind = 'plan_changed' order by event_id desc limit 1$$,
  $$values ('pro'::text, 'premium'::text, 'upgrade'::text, 'e_a2'::text)$$,
  'plan_changed pro -> premium (upgrade)');

-- as service: downgrade at the period's end ----------------------------------------------------
SELECT tests.travel('2026-03-25 12:00+00');
SELECT results_eq(
  $$select plan, period_start, period_end
    from credits.apply_subscription_event('e_a3', 'sub_a', 'pro', 'active', '2026-03-12 08:00+00', '2026-04-12 08:00+00')$$,
  $$values ('premium'::text, '2026-03-12 08:00+00'::timestamptz, '2026-04-12 08:00+00'::timestamptz)$$,
  'a downgrade to pro in the period: the account keeps premium until the period ends');
SELECT results_eq($$select available, granted, used from tests.bal('sub_a')$$,
                  $$values (470::numeric, 500::numeric, 30::numeric)$$,
                  'the downgrade takes nothing back before the period ends');
SELECT results_eq($$select ok, available from credits.deduct_credits('sub_a', 'premium')$$,
                  $$values (true, 467::numeric)$$, 'premium''s features still work until the period ends');
SELECT tests.travel('2026-04-12 09:00+00');
SELECT results_eq(
  $$select available, granted, used, period_start, period_end from tests.bal('sub_a')$$,
  $$values (0::numeric, 500::numeric, 33::numeric, '2026-03-12 08:00+00'::timestamptz, '2026-04-12 08:00+00'::timestamptz)$$,
  'past the end, before the renewal: reads report the ended provider period, its counters and no new allowance');
SELECT results_eq(
  $$select allowed, reason, available from credits.check_feature('sub_a', 'roast')$$,
  $$values (false, 'insufficient_credits'::text, 0::numeric)$$,
  'check_feature agrees: nothing to spend until the renewal');
SELECT results_eq($$select distinct plan from credits.get_balance('sub_a')$$, $$values ('pro'::text)$$,
                  'past the end, get_balance already reports the scheduled lower plan');
SELECT results_eq($$select cost, reason from credits.check_feature('sub_a', 'premium')$$,
                  $$values (2::numeric, 'insufficient_credits'::text)$$,
                  'check_feature applies the settled plan''s rules: premium at pro''s override of 2, not 3');
SELECT results_eq($$select plan, period_start from credits.accounts where account_id = 'sub_a'$$,
                  $$values ('premium'::text, '2026-03-12 08:00+00'::timestamptz)$$,
                  'the reads wrote nothing');
SELECT results_eq($$select ok, reason from credits.deduct_credits('sub_a', 'roast')$$,
                  $$values (false, 'insufficient_credits'::text)$$,
                  'a deduct past the end is refused (the allowance ended with the period)');
SELECT results_eq(
  $$select plan, period_start, period_end from credits.accounts where account_id = 'sub_a'$$,
  $$values ('pro'::text, '2026-03-12 08:00+00'::timestamptz, '2026-04-12 08:00+00'::timestamptz)$$,
  'the mutating call applied the scheduled downgrade; the account awaits the provider''s renewal');
SELECT results_eq(
  $$select payload ->> 'from', payload ->> 'to', payload ->> 'cause', (payload ->> 'effective_at')::timestamptz
    from credits.events where account_id = 'sub_a' and kind = 'plan_changed' order by event_id desc limit 1$$,
  $$values ('premium'::text, 'pro'::text, 'scheduled'::text, '2026-04-12 08:00+00'::timestamptz)$$,
  'plan_changed premium -> pro, effective at the period''s end');

-- as service: renewal with the provider's bounds -------------------------------------------------
SELECT results_eq(
  $$select plan, period_start, period_end
    from credits.apply_subscription_event('e_a4', 'sub_a', 'pro', 'active', '2026-04-12 08:00+00', '2026-05-12 08:00+00')$$,
  $$values ('pro'::text, '2026-04-12 08:00+00'::timestamptz, '2026-05-12 08:00+00'::timestamptz)$$,
  'renewal: the new period is exactly the provider''s, Apr 12 08:00 -> May 12 08:00');
SELECT results_eq(
  $$select available, granted, used, period_start, period_end from tests.bal('sub_a')$$,
  $$values (100::numeric, 100::numeric, 0::numeric, '2026-04-12 08:00+00'::timestamptz, '2026-05-12 08:00+00'::timestamptz)$$,
  'renewal issues pro''s allowance; get_balance reports the provider''s period');
SELECT isnt((select period_start from credits.get_balance('sub_a') where credit_type = 'credits'),
            '2026-04-10 12:00+00'::timestamptz, 'not the period of the monthly billing anchor (Apr 10 12:00)');
SELECT results_eq(
  $$select amount, expires_at, period_start from tests.grants('sub_a', 'monthly') order by grant_id desc limit 1$$,
  $$values (100::numeric, '2026-05-12 08:00+00'::timestamptz, '2026-04-12 08:00+00'::timestamptz)$$,
  'the renewal''s monthly grant ends at the provider''s period_end');
SELECT results_eq(
  $$select next_reset_at from credits.get_balance('sub_a') where credit_type = 'credits'$$,
  $$values ('2026-05-12 08:00+00'::timestamptz)$$, 'next_reset_at is the provider''s period_end');

-- as superuser -------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
