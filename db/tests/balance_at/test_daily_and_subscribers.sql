-- balance_at with daily grants and subscriptions (SPEC §2): dina's day grant
-- counts from the day's start though issued at her first call, and the day it
-- ends its rest no longer counts; sam's late renewal reads 6 for the wait, then
-- the renewal's 100 (not the 500 an upgrade topped it up to later); tia's
-- opening by settlement and one by her provider at the same instant read the
-- wait before as then.

BEGIN;
SELECT plan(6);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
-- as admin (superuser): drip (5 credits a day, 10 analysis a month), max (500 a month), basic (20 a month)
SELECT code FROM credits.upsert_plan('drip', monthly_allowance => '{"analysis": 10}',
                                     daily_allowance => '{"credits": 5}');
SELECT feature FROM credits.set_plan_feature('drip', 'roast');
SELECT code FROM credits.upsert_plan('max', monthly_allowance => '{"credits": 500}');
SELECT code FROM credits.upsert_plan('basic', monthly_allowance => '{"credits": 20}');
-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- as service: daily grants ---------------------------------------------------------------------
-- dina (drip: 5 credits a day in Paris, 10 analysis a month): the day's grant
-- is issued at her first call (15:00), the next days' are skipped until 03-13.
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('dina', 'drip', timezone => 'Europe/Paris');
SELECT tests.see('dina');
SELECT tests.travel('2026-03-10 15:00+00');
SELECT '' FROM credits.deduct_credits('dina', 'roast', amount => 2);
SELECT tests.see('dina');
SELECT tests.travel('2026-03-11 10:00+00');
SELECT tests.see('dina');
SELECT results_eq($$select * from credits.balance_at('dina', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('dina')$$,
                  'daily: on a new local day not settled yet, balance_at(now) = get_balance (the day''s grant pending)');
SELECT tests.travel('2026-03-13 09:00+00');
SELECT tests.see('dina');
SELECT tests.travel('2026-03-13 10:00+00');
SELECT '' FROM credits.deduct_credits('dina', 'roast', amount => 1);
SELECT tests.see('dina');
SELECT results_eq(
  $$select s.at, b.available from tests.seen s cross join lateral credits.balance_at('dina', s.at) b
    where s.account_id = 'dina' and s.credit_type = 'credits' and b.credit_type = 'credits' order by s.at$$,
  $$values ('2026-03-10 12:00+00'::timestamptz, 5::numeric), ('2026-03-10 15:00+00', 3),
           ('2026-03-11 10:00+00', 5), ('2026-03-13 09:00+00', 5), ('2026-03-13 10:00+00', 4)$$,
  'daily: the day''s grant counts from the day''s start though issued at 15:00; the day it ends (23:00 UTC) its 3 left no longer count');

-- as service: a subscriber --------------------------------------------------------------------
-- sam: free (6 at signup), subscribed to pro from 03-05; the renewal for
-- 04-05 arrives ten minutes late; an upgrade to max (500) on 04-10 tops the
-- period's grant up to 500.
SELECT tests.travel('2026-03-01 00:00+00');
SELECT account_id FROM credits.open_account('sam');
SELECT tests.travel('2026-03-05 00:00+00');
SELECT plan FROM credits.apply_subscription_event('evt-ba-1', 'sam', 'pro', 'active',
                                                 '2026-03-05 00:00+00', '2026-04-05 00:00+00');
SELECT tests.see('sam');
SELECT tests.travel('2026-03-20 00:00+00');
SELECT '' FROM credits.deduct_credits('sam', 'roast', amount => 10);
SELECT tests.see('sam');
SELECT tests.travel('2026-04-05 00:05+00');
SELECT tests.see('sam');
SELECT results_eq($$select * from credits.balance_at('sam', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('sam')$$,
                  'subscriber awaiting its renewal: balance_at(now) = get_balance (nothing pending)');
SELECT tests.travel('2026-04-05 00:10+00');
SELECT plan FROM credits.apply_subscription_event('evt-ba-2', 'sam', 'pro', 'active',
                                                 '2026-04-05 00:00+00', '2026-05-05 00:00+00');
SELECT tests.see('sam');
SELECT tests.travel('2026-04-10 00:00+00');
SELECT plan FROM credits.apply_subscription_event('evt-ba-3', 'sam', 'max', 'active',
                                                 '2026-04-05 00:00+00', '2026-05-05 00:00+00');
SELECT tests.see('sam');
SELECT results_eq(
  $$select s.at, b.available from tests.seen s cross join lateral credits.balance_at('sam', s.at) b
    where s.account_id = 'sam' and s.credit_type = 'credits' and b.credit_type = 'credits' order by s.at$$,
  $$values ('2026-03-05 00:00+00'::timestamptz, 106::numeric), ('2026-03-20 00:00+00', 96),
           ('2026-04-05 00:05+00', 6), ('2026-04-05 00:10+00', 106), ('2026-04-10 00:00+00', 506)$$,
  'subscriber: after the late renewal and the upgrade, the wait reads 6 as then, the renewal 100 (not the topped-up 500)');

-- tia (basic, 20 a month from 03-01) idles past 04-01; on 04-10 a provider's
-- event backdated to 03-25 subscribes her to pro: settling opens April's
-- basic period first, then the provider's, in the same transaction.
SELECT tests.travel('2026-03-01 00:00+00');
SELECT account_id FROM credits.open_account('tia', 'basic');
SELECT tests.travel('2026-04-05 00:00+00');
SELECT tests.see('tia');
SELECT tests.travel('2026-04-10 00:00+00');
SELECT plan FROM credits.apply_subscription_event('evt-ba-4', 'tia', 'pro', 'active',
                                                 '2026-03-25 00:00+00', '2026-04-25 00:00+00');
SELECT results_eq($$select * from credits.balance_at('tia', '2026-04-05 00:00+00')$$,
                  $$select credit_type, available from tests.seen where account_id = 'tia' order by credit_type$$,
                  'an opening by settlement and one by the provider at the same instant: the wait before reads as then (basic''s 20 pending)');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
