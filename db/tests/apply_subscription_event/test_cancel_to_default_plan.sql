-- A canceled subscription falls back to the app's default plan (issue 17
-- item 6; SPEC §2 apply_subscription_event): s0_free here, not a plan named
-- free: the subscriptions view names it as scheduled, reads past the period's
-- end report it, the next call moves the account there (plan_changed, cause
-- cancellation). With no default plan the canceled event is refused at the
-- event (PT404 naming it), never at the user's next call, and changes nothing.

BEGIN;
SELECT plan(8);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.app_plans(s0_free_default => true);

SELECT tests.act_as('credits_service');

-- as service: a canceled subscription falls back to the default plan ---------------------------------
SELECT account_id FROM credits.open_account('cat', 's0_free');
SELECT plan FROM credits.apply_subscription_event('e_c1', 'cat', 's1_pro', 'active',
                                                 '2026-03-10 12:00+00', '2026-04-10 12:00+00');
SELECT results_eq($$select plan, status, scheduled_plan from credits.subscriptions where account_id = 'cat'$$,
                  $$values ('s1_pro'::text, 'active'::text, null::text)$$, 'subscribed to s1_pro');
SELECT plan FROM credits.apply_subscription_event('e_c2', 'cat', 's1_pro', 'canceled',
                                                 '2026-03-10 12:00+00', '2026-04-10 12:00+00');
SELECT results_eq($$select plan, status, scheduled_plan, period_end from credits.subscriptions
                    where account_id = 'cat'$$,
                  $$values ('s1_pro'::text, 'canceled'::text, 's0_free'::text, '2026-04-10 12:00+00'::timestamptz)$$,
                  'canceled: s1_pro until the period ends, then the default plan (the subscriptions view says so)');
SELECT tests.travel('2026-04-11 12:00+00');
SELECT results_eq($$select distinct plan from credits.get_balance('cat')$$, $$values ('s0_free'::text)$$,
                  'past the period''s end, reads report the default plan s0_free');
SELECT results_eq($$select ok, reason from credits.deduct_credits('cat', 'roast')$$,
                  $$values (true, null::text)$$,
                  'the next call is on s0_free and may roast (not feature_not_in_plan on a plan named free)');
SELECT results_eq($$select plan, status, scheduled_plan, ended_at from credits.subscriptions where account_id = 'cat'$$,
                  $$values ('s0_free'::text, null::text, null::text, '2026-04-10 12:00+00'::timestamptz)$$,
                  'the subscription ended at its period''s end; nothing is scheduled');
SELECT results_eq($$select payload ->> 'to', payload ->> 'cause' from credits.events
                    where account_id = 'cat' and kind = 'plan_changed' order by event_id desc limit 1$$,
                  $$values ('s0_free'::text, 'cancellation'::text)$$, 'plan_changed to s0_free (cancellation)');

-- no default plan: the canceled event is refused, changing nothing
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('dot', 's0_free');
SELECT plan FROM credits.apply_subscription_event('e_d1', 'dot', 's1_pro', 'active',
                                                 '2026-03-10 12:00+00', '2026-04-10 12:00+00');
SELECT tests.act_as_superuser();
UPDATE credits_private.plans SET is_default = false WHERE is_default;
SELECT tests.act_as('credits_service');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_d2', 'dot', 's1_pro', 'canceled',
                                                                 '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$,
                 'PT404', 'no default plan for canceled subscription event e_d2 to leave account dot on',
                 'a cancellation with no default plan: PT404 at the event, naming it');
SELECT results_eq($$select status from credits.subscriptions where account_id = 'dot'$$,
                  $$values ('active'::text)$$, 'the refused event changed nothing');
SELECT tests.act_as_superuser();
UPDATE credits_private.plans SET is_default = true WHERE code = 's0_free';

SELECT * FROM finish();
ROLLBACK;
