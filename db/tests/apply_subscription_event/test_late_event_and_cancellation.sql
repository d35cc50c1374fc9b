-- A late older event is stored and ignored (SPEC §2 apply_subscription_event):
-- it changes nothing newer and writes no ledger row, and is still kept under
-- its id (other arguments PT409). A cancellation keeps the plan until the
-- period's end; past it, reads report the free plan's period anchored at the
-- end with its pending allowance; the next mutating call moves the account
-- there (plan_changed, cause cancellation), and periods are monthly from that
-- anchor afterwards; a late event for the ended subscription changes nothing.

BEGIN;
SELECT plan(15);
SELECT '' FROM tests.catalog();
SELECT tests.subscription_plans();

SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('sub_a');

-- sub_a's story so far: pro, upgraded to premium, 33 used, downgraded to pro, renewed
SELECT tests.sub_a_subscribed();
SELECT tests.travel('2026-03-15 12:00+00');
SELECT ok::text FROM credits.deduct_credits('sub_a', 'roast', amount => 30);
SELECT tests.travel('2026-03-20 12:00+00');
SELECT plan FROM credits.apply_subscription_event('e_a2', 'sub_a', 'premium', 'active', '2026-03-12 08:00+00',
                                                  '2026-04-12 08:00+00');
SELECT tests.travel('2026-03-25 12:00+00');
SELECT plan FROM credits.apply_subscription_event('e_a3', 'sub_a', 'pro', 'active', '2026-03-12 08:00+00',
                                                  '2026-04-12 08:00+00');
SELECT ok::text FROM credits.deduct_credits('sub_a', 'premium');
SELECT tests.travel('2026-04-12 09:00+00');
SELECT ok::text FROM credits.deduct_credits('sub_a', 'roast');  -- refused; applies the scheduled downgrade
SELECT plan FROM credits.apply_subscription_event('e_a4', 'sub_a', 'pro', 'active', '2026-04-12 08:00+00',
                                                  '2026-05-12 08:00+00');

-- as service: an older event arriving late -----------------------------------------------------------
SELECT tests.travel('2026-04-13 12:00+00');
INSERT INTO tests.ids SELECT 'a_ledger', count(*) FROM credits.ledger WHERE account_id = 'sub_a';
SELECT results_eq(
  $$select plan, period_start, period_end
    from credits.apply_subscription_event('e_a0', 'sub_a', 'premium', 'active', '2026-03-12 08:00+00', '2026-04-12 08:00+00')$$,
  $$values ('pro'::text, '2026-04-12 08:00+00'::timestamptz, '2026-05-12 08:00+00'::timestamptz)$$,
  'a late event for the previous period changes nothing newer: still pro, still the renewed period');
SELECT is((select count(*) from credits.ledger where account_id = 'sub_a'), tests.id('a_ledger'),
          'the late event wrote no ledger row');
SELECT results_eq($$select event_id, effect from tests.sub_events('sub_a')$$,
                  $$values ('e_a1'::text, 'opened_period'::text), ('e_a2', 'upgraded'), ('e_a3', 'scheduled'),
                           ('e_a4', 'opened_period'), ('e_a0', 'ignored')$$,
                  'every event is stored once, with what it did; the late one ignored');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_a0', 'sub_a', 'pro', 'active',
                   '2026-03-12 08:00+00', '2026-04-12 08:00+00')$$, 'PT409',
                 'subscription event e_a0 was already applied with other arguments',
                 'an ignored event is still kept under its id: other arguments are PT409');

-- as service: cancellation at the period's end ----------------------------------------------------
SELECT tests.travel('2026-04-20 12:00+00');
SELECT results_eq(
  $$select plan, period_end
    from credits.apply_subscription_event('e_a5', 'sub_a', 'pro', 'canceled', '2026-04-12 08:00+00', '2026-05-12 08:00+00')$$,
  $$values ('pro'::text, '2026-05-12 08:00+00'::timestamptz)$$,
  'a cancellation keeps the plan until the period ends');
SELECT results_eq($$select ok, available from credits.deduct_credits('sub_a', 'roast')$$,
                  $$values (true, 99::numeric)$$, 'the canceled subscription still spends until its period ends');
SELECT tests.travel('2026-05-13 08:00+00');
SELECT results_eq(
  $$select available, granted, used, period_start, period_end from tests.bal('sub_a')$$,
  $$values (10::numeric, 10::numeric, 0::numeric, '2026-05-12 08:00+00'::timestamptz, '2026-06-12 08:00+00'::timestamptz)$$,
  'past the end, reads report plan free''s period anchored at the subscription''s end, with its pending allowance');
SELECT results_eq($$select plan, period_start from credits.accounts where account_id = 'sub_a'$$,
                  $$values ('pro'::text, '2026-04-12 08:00+00'::timestamptz)$$, 'the read wrote nothing');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('sub_a')$$,
  $$values ('2026-05-12 08:00+00'::timestamptz, '2026-06-12 08:00+00'::timestamptz)$$,
  'the next mutating call ends the subscription and opens free''s period');
SELECT results_eq(
  $$select plan, billing_anchor from credits.accounts where account_id = 'sub_a'$$,
  $$values ('free'::text, '2026-05-12 08:00+00'::timestamptz)$$,
  'the account is on plan free, its billing anchor the subscription''s end');
SELECT results_eq(
  $$select payload ->> 'from', payload ->> 'to', payload ->> 'cause' from credits.events
    where account_id = 'sub_a' and kind = 'plan_changed' order by event_id desc limit 1$$,
  $$values ('pro'::text, 'free'::text, 'cancellation'::text)$$, 'plan_changed pro -> free (cancellation)');
SELECT results_eq($$select available, granted from tests.bal('sub_a')$$, $$values (10::numeric, 10::numeric)$$,
                  'free''s allowance is issued for its period');
SELECT tests.travel('2026-06-12 09:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('sub_a')$$,
  $$values ('2026-06-12 08:00+00'::timestamptz, '2026-07-12 08:00+00'::timestamptz)$$,
  'after the subscription, periods are monthly from the new anchor');
SELECT results_eq(
  $$select plan, period_start
    from credits.apply_subscription_event('e_a6', 'sub_a', 'pro', 'active', '2026-04-12 08:00+00', '2026-05-12 08:00+00')$$,
  $$values ('free'::text, '2026-06-12 08:00+00'::timestamptz)$$,
  'a late event for the ended subscription''s period changes nothing');

-- as superuser -------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
