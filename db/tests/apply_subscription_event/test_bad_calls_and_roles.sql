-- apply_subscription_event's bad calls and roles (SPEC §2, §3; issue 3
-- "Subscriptions"): an unknown account or plan PT404; an empty event_id, an
-- unknown status, a period_end not after period_start PT422; each naming the
-- value, none stored. Admins may apply events; users (even to their own
-- account) and auditors may not (42501). The plans: tests.subscription_plans().

BEGIN;
SELECT plan(12);
SELECT '' FROM tests.catalog();
SELECT tests.subscription_plans();

SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('sub_a');
SELECT account_id FROM credits.open_account('alice');

-- as service: bad calls ---------------------------------------------------------------
SELECT throws_ok($$select * from credits.apply_subscription_event('e_x', 'ghost', 'pro', 'active',
                   '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$, 'PT404',
                 'unknown account ghost', 'unknown account: PT404');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_x', 'sub_a', 'gold', 'active',
                   '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$, 'PT404',
                 'unknown plan gold in subscription event e_x', 'unknown plan: PT404 naming it');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_x', 'sub_a', 'pro', 'paused',
                   '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$, 'PT422',
                 'invalid subscription status ''paused'' in event e_x', 'unknown status: PT422 naming it');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_x', 'sub_a', 'pro', 'active',
                   '2026-04-10 12:00+00', '2026-04-10 12:00+00')$$, 'PT422',
                 format('subscription period %s to %s of event e_x is empty or unbounded',
                        '2026-04-10 12:00+00'::timestamptz,
                        '2026-04-10 12:00+00'::timestamptz),
                 'period_end equal to period_start: PT422');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_x', 'sub_a', 'pro', 'active',
                   '2026-04-10 12:00+00', '2026-03-10 12:00+00')$$, 'PT422',
                 format('subscription period %s to %s of event e_x is empty or unbounded',
                        '2026-04-10 12:00+00'::timestamptz,
                        '2026-03-10 12:00+00'::timestamptz),
                 'period_end before period_start: PT422');
SELECT throws_ok($$select * from credits.apply_subscription_event('', 'sub_a', 'pro', 'active',
                   '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$, 'PT422',
                 'event_id must be 1 to 255 characters, got ''''', 'empty event_id: PT422');
SELECT is_empty($$select * from tests.sub_events('sub_a')$$, 'refused events are not stored');

SELECT tests.travel('2026-04-11 12:00+00');

-- as admin -----------------------------------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT results_eq(
  $$select plan from credits.apply_subscription_event('e_alice1', 'alice', 'pro', 'active',
                                                      '2026-04-11 00:00+00', '2026-05-11 00:00+00')$$,
  $$values ('pro'::text)$$, 'an admin may apply subscription events');

-- as user alice ------------------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_alice2', 'alice', 'premium', 'active',
                   '2026-04-11 00:00+00', '2026-05-11 00:00+00')$$, '42501',
                 'permission denied for function apply_subscription_event',
                 'a user may not apply a subscription event, even to her own account');
SELECT results_eq($$select plan, available from credits.get_balance('alice') where credit_type = 'credits'$$,
                  $$values ('pro'::text, 100::numeric)$$, 'alice reads her subscribed balance: pro''s 100 (free''s 10 ended)');

-- as auditor ---------------------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_alice2', 'alice', 'premium', 'active',
                   '2026-04-11 00:00+00', '2026-05-11 00:00+00')$$, '42501',
                 'permission denied for function apply_subscription_event',
                 'an auditor may not apply a subscription event');

-- as superuser -------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
