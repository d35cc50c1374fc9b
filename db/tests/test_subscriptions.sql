-- Subscriptions: apply_subscription_event and grant_subscriber_monthly_credits
-- (SPEC §1 period, §2 Accounts and balances, §3 roles; issue 3 "Subscriptions").
--
-- Bad calls: unknown account or plan PT404; empty event_id, unknown status,
-- period_end not after period_start PT422. Idempotency on event_id: a retry
-- returns the account and writes nothing; the same id with another plan or
-- period, or for another account, is PT409. The first event of a free
-- account opens the provider's period (not the billing anchor's) on the
-- event's plan with its allowance, and ends the rest of the replaced
-- period's allowance. Upgrade at once: pro with 30 used -> premium: 470 left
-- (an `adjustment` row on the same grant), a credit type the old plan
-- lacked issued in full, plan_changed. Downgrade at the period's end: the
-- account keeps its plan until then; past the end, reads report the ended
-- period and no allowance (a subscriber waits for the provider's renewal),
-- the next mutating call switches the plan; the renewal then opens the
-- provider's period exactly. A late older event is stored and ignored.
-- Cancellation at the period's end: reads report the free plan's period
-- anchored at the end and its pending allowance; the next call moves the
-- account there, and periods are monthly from that anchor afterwards.
-- Reactivation (canceled, then active in the same period) cancels the
-- cancellation. past_due renewal: the period opens without allowance;
-- grant_subscriber_monthly_credits issues it once (the same grant_id on a
-- second call, and a later active event issues nothing more). A new
-- period_end for the same period moves the end of the period and of its
-- monthly grant. Pro -> team (unlimited) is at once, team -> premium waits.
-- A new plan's daily allowance for today is issued with the change.
-- Roles: admins may apply events; users and auditors may call neither (42501).

BEGIN;
SELECT plan(84);
SELECT '' FROM tests.catalog();
-- In this file free has a monthly allowance of 10 and no signup grant, premium
-- 500 credits and 20 analysis credits a month, pro (tests.catalog) 100 credits.
SELECT '' FROM credits.upsert_plan('free', monthly_allowance => '{"credits": 10}');
SELECT '' FROM credits.upsert_plan('premium', monthly_allowance => '{"credits": 500, "analysis": 20}');
SELECT '' FROM unnest(array['roast', 'premium']) f, credits.set_plan_feature('premium', f);
SELECT '' FROM credits.upsert_plan('dripper', monthly_allowance => '{"credits": 10}', daily_allowance => '{"credits": 2}');


SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('sub_a');
SELECT account_id FROM credits.open_account('sub_b');
SELECT account_id FROM credits.open_account('sub_c');
SELECT account_id FROM credits.open_account('sub_d');
SELECT account_id FROM credits.open_account('gs_pro', 'pro');
SELECT account_id FROM credits.open_account('gs_team', 'team');
SELECT account_id FROM credits.open_account('alice');

-- as service: bad calls ---------------------------------------------------------------
SELECT throws_ok($$select * from credits.apply_subscription_event('e_x', 'ghost', 'pro', 'active',
                   '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$, 'PT404', 'unknown account ghost', 'unknown account: PT404');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_x', 'sub_a', 'gold', 'active',
                   '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$, 'PT404', 'unknown plan gold in subscription event e_x',
                 'unknown plan: PT404 naming it');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_x', 'sub_a', 'pro', 'paused',
                   '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$, 'PT422',
                 'invalid subscription status ''paused'' in event e_x', 'unknown status: PT422 naming it');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_x', 'sub_a', 'pro', 'active',
                   '2026-04-10 12:00+00', '2026-04-10 12:00+00')$$, 'PT422', format('subscription period %s to %s of event e_x is empty or unbounded', '2026-04-10 12:00+00'::timestamptz, '2026-04-10 12:00+00'::timestamptz),
                 'period_end equal to period_start: PT422');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_x', 'sub_a', 'pro', 'active',
                   '2026-04-10 12:00+00', '2026-03-10 12:00+00')$$, 'PT422', format('subscription period %s to %s of event e_x is empty or unbounded', '2026-04-10 12:00+00'::timestamptz, '2026-03-10 12:00+00'::timestamptz),
                 'period_end before period_start: PT422');
SELECT throws_ok($$select * from credits.apply_subscription_event('', 'sub_a', 'pro', 'active',
                   '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$, 'PT422', 'event_id must be 1 to 255 characters, got ''''', 'empty event_id: PT422');
SELECT is_empty($$select * from tests.sub_events('sub_a')$$, 'refused events are not stored');

-- as service: the first event opens the provider's period ------------------------------------
SELECT tests.travel('2026-03-12 09:00+00');
SELECT results_eq(
  $$select plan, period_start, period_end, billing_anchor
    from credits.apply_subscription_event('e_a1', 'sub_a', 'pro', 'active', '2026-03-12 08:00+00', '2026-04-12 08:00+00')$$,
  $$values ('pro'::text, '2026-03-12 08:00+00'::timestamptz, '2026-04-12 08:00+00'::timestamptz,
            '2026-03-10 12:00+00'::timestamptz)$$,
  'first event: the account follows the provider''s period (Mar 12 08:00 -> Apr 12 08:00) on plan pro');
SELECT results_eq(
  $$select kind, amount, balance_after from credits.ledger where account_id = 'sub_a' order by transaction_id$$,
  $$values ('grant'::text, 10::numeric, 10::numeric), ('expiry', -10, 0), ('grant', 100, 100)$$,
  'the free period''s allowance (10) ends at once, pro''s 100 is granted');
SELECT results_eq(
  $$select amount, remaining, expires_at, period_start from tests.grants('sub_a', 'monthly') where expired_at is null$$,
  $$values (100::numeric, 100::numeric, '2026-04-12 08:00+00'::timestamptz, '2026-03-12 08:00+00'::timestamptz)$$,
  'the monthly grant ends with the provider''s period');
INSERT INTO tests.ids SELECT 'a_monthly', grant_id FROM tests.grants('sub_a', 'monthly') WHERE expired_at IS NULL;
SELECT results_eq(
  $$select payload ->> 'from', payload ->> 'to', payload ->> 'cause' from credits.events
    where account_id = 'sub_a' and kind = 'plan_changed'$$,
  $$values ('free'::text, 'pro'::text, 'new_period'::text)$$,
  'plan_changed free -> pro');

-- idempotency
INSERT INTO tests.ids SELECT 'a_events', count(*) FROM credits.events WHERE account_id = 'sub_a';
SELECT tests.travel('2026-03-12 10:00+00');
SELECT results_eq(
  $$select plan, period_start, period_end
    from credits.apply_subscription_event('e_a1', 'sub_a', 'pro', 'active', '2026-03-12 08:00+00', '2026-04-12 08:00+00')$$,
  $$values ('pro'::text, '2026-03-12 08:00+00'::timestamptz, '2026-04-12 08:00+00'::timestamptz)$$,
  'a retry of the same event returns the account');
SELECT results_eq(
  $$select (select count(*) from credits.ledger where account_id = 'sub_a'),
           (select count(*) from credits.events where account_id = 'sub_a'),
           (select count(*) from tests.sub_events('sub_a'))$$,
  $$values (3::bigint, tests.id('a_events'), 1::bigint)$$,
  'the retry wrote nothing: no ledger row, no event, the event stored once');
SELECT results_eq(
  $$select plan, period_start, period_end
    from credits.apply_subscription_event('e_a1', 'sub_a', 'pro', 'active', '2026-03-12 09:00+01', '2026-04-12 10:00+02')$$,
  $$values ('pro'::text, '2026-03-12 08:00+00'::timestamptz, '2026-04-12 08:00+00'::timestamptz)$$,
  'a retry naming the same instants in other time zones is the same event');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_a1', 'sub_a', 'premium', 'active',
                   '2026-03-12 08:00+00', '2026-04-12 08:00+00')$$, 'PT409',
                 'subscription event e_a1 was already applied with other arguments',
                 'the same event_id with another plan: PT409');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_a1', 'sub_a', 'pro', 'active',
                   '2026-03-12 08:00+00', '2026-04-13 08:00+00')$$, 'PT409', 'subscription event e_a1 was already applied with other arguments',
                 'the same event_id with another period_end: PT409');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_a1', 'sub_b', 'pro', 'active',
                   '2026-03-12 08:00+00', '2026-04-12 08:00+00')$$, 'PT409', 'subscription event e_a1 was already applied with other arguments',
                 'the same event_id for another account: PT409');

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
                   '2026-03-12 08:00+00', '2026-04-12 08:00+00')$$, 'PT409', 'subscription event e_a0 was already applied with other arguments',
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

-- as service: first event for the account's own period, reactivation, past_due --------------------
SELECT tests.travel('2026-03-10 12:00+00');
SELECT results_eq(
  $$select plan, period_start, period_end
    from credits.apply_subscription_event('e_b1', 'sub_b', 'pro', 'trialing', '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$,
  $$values ('pro'::text, '2026-03-10 12:00+00'::timestamptz, '2026-04-10 12:00+00'::timestamptz)$$,
  'a first event naming the account''s own period is an upgrade of it (trialing counts as active)');
SELECT results_eq(
  $$select kind, amount from credits.ledger where account_id = 'sub_b' order by transaction_id$$,
  $$values ('grant'::text, 10::numeric), ('adjustment', 90)$$,
  'free''s 10 grows to pro''s 100: one adjustment of +90');
SELECT tests.travel('2026-03-11 12:00+00');
SELECT results_eq(
  $$select plan from credits.apply_subscription_event('e_b2', 'sub_b', 'pro', 'canceled',
                                                      '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$,
  $$values ('pro'::text)$$, 'canceled (scheduled for the period''s end)');
SELECT tests.travel('2026-03-12 12:00+00');
SELECT results_eq(
  $$select plan from credits.apply_subscription_event('e_b3', 'sub_b', 'pro', 'active',
                                                      '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$,
  $$values ('pro'::text)$$, 'active again in the same period: the later event wins');
SELECT tests.travel('2026-04-11 12:00+00');
SELECT results_eq(
  $$select a.plan, p.period_start, p.period_end from credits.get_or_create_active_period('sub_b') p,
    credits.accounts a where a.account_id = 'sub_b'$$,
  $$values ('pro'::text, '2026-03-10 12:00+00'::timestamptz, '2026-04-10 12:00+00'::timestamptz)$$,
  'reactivated: past the end the account stays on pro, awaiting the renewal (no fallback to free)');
SELECT results_eq(
  $$select plan, period_start, period_end
    from credits.apply_subscription_event('e_b4', 'sub_b', 'pro', 'past_due', '2026-04-10 12:00+00', '2026-05-10 12:00+00')$$,
  $$values ('pro'::text, '2026-04-10 12:00+00'::timestamptz, '2026-05-10 12:00+00'::timestamptz)$$,
  'a past_due renewal opens the provider''s period');
SELECT results_eq($$select available, granted from tests.bal('sub_b')$$, $$values (0::numeric, 0::numeric)$$,
                  'past_due: no allowance issued for the unpaid period');
INSERT INTO tests.ids SELECT 'b_grant', grant_id FROM credits.grant_subscriber_monthly_credits('sub_b');
SELECT results_eq(
  $$select grant_id, amount, expires_at, period_start from tests.grants('sub_b', 'monthly')
    where period_start = '2026-04-10 12:00+00'$$,
  $$values (tests.id('b_grant'), 100::numeric, '2026-05-10 12:00+00'::timestamptz, '2026-04-10 12:00+00'::timestamptz)$$,
  'grant_subscriber_monthly_credits issues the period''s allowance, ending with the period');
SELECT is((select grant_id from credits.grant_subscriber_monthly_credits('sub_b')), tests.id('b_grant'),
          'a second call returns the same grant');
SELECT results_eq(
  $$select plan from credits.apply_subscription_event('e_b5', 'sub_b', 'pro', 'active',
                                                      '2026-04-10 12:00+00', '2026-05-10 12:00+00')$$,
  $$values ('pro'::text)$$, 'the payment arrives: active for the same period');
SELECT results_eq(
  $$select (select count(*) from tests.grants('sub_b', 'monthly') where period_start = '2026-04-10 12:00+00'), b.available
    from tests.bal('sub_b') b$$,
  $$values (1::bigint, 100::numeric)$$,
  'once per period: the active event issued nothing more');
SELECT results_eq($$select event_id, effect from tests.sub_events('sub_b')$$,
                  $$values ('e_b1'::text, 'upgraded'::text), ('e_b2', 'scheduled'), ('e_b3', 'updated'),
                           ('e_b4', 'opened_period'), ('e_b5', 'updated')$$,
                  'sub_b''s events and what each did');

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

-- as service: grant_subscriber_monthly_credits ---------------------------------------------------------
SELECT tests.travel('2026-03-20 12:00+00');
SELECT is((select grant_id from credits.grant_subscriber_monthly_credits('gs_pro')),
          (select grant_id from tests.grants('gs_pro', 'monthly')),
          'an account whose period issued its allowance: the existing grant, nothing new');
SELECT is((select count(*) from credits.ledger where account_id = 'gs_pro'), 1::bigint,
          'grant_subscriber_monthly_credits wrote nothing for gs_pro');
SELECT tests.travel('2026-04-11 12:00+00');
INSERT INTO tests.ids SELECT 'gs_pro_2', grant_id FROM credits.grant_subscriber_monthly_credits('gs_pro');
SELECT results_eq(
  $$select amount, period_start from tests.grants('gs_pro', 'monthly') where grant_id = tests.id('gs_pro_2')$$,
  $$values (100::numeric, '2026-04-10 12:00+00'::timestamptz)$$,
  'in the next period: that period''s grant (the call settled it)');
SELECT throws_ok($$select * from credits.grant_subscriber_monthly_credits('gs_team')$$, 'PT422', format('account gs_team has no monthly allowance for its period %s to %s', '2026-04-10 12:00+00'::timestamptz, '2026-05-10 12:00+00'::timestamptz),
                 'a plan without a monthly allowance: PT422');
SELECT throws_ok($$select * from credits.grant_subscriber_monthly_credits('ghost')$$, 'PT404', 'unknown account ghost',
                 'unknown account: PT404');

-- as admin -----------------------------------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT results_eq(
  $$select plan from credits.apply_subscription_event('e_alice1', 'alice', 'pro', 'active',
                                                      '2026-04-11 00:00+00', '2026-05-11 00:00+00')$$,
  $$values ('pro'::text)$$, 'an admin may apply subscription events');

-- as user alice ------------------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_alice2', 'alice', 'premium', 'active',
                   '2026-04-11 00:00+00', '2026-05-11 00:00+00')$$, '42501', 'permission denied for function apply_subscription_event',
                 'a user may not apply a subscription event, even to her own account');
SELECT throws_ok($$select * from credits.grant_subscriber_monthly_credits('alice')$$, '42501', 'permission denied for function grant_subscriber_monthly_credits',
                 'a user may not call grant_subscriber_monthly_credits');
SELECT results_eq($$select plan, available from credits.get_balance('alice') where credit_type = 'credits'$$,
                  $$values ('pro'::text, 100::numeric)$$, 'alice reads her subscribed balance: pro''s 100 (free''s 10 ended)');

-- as auditor ---------------------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_alice2', 'alice', 'premium', 'active',
                   '2026-04-11 00:00+00', '2026-05-11 00:00+00')$$, '42501', 'permission denied for function apply_subscription_event',
                 'an auditor may not apply a subscription event');
SELECT throws_ok($$select * from credits.grant_subscriber_monthly_credits('alice')$$, '42501', 'permission denied for function grant_subscriber_monthly_credits',
                 'an auditor may not call grant_subscriber_monthly_credits');

-- as superuser -------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
