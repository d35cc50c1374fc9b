-- The first subscription event of a free account (SPEC §1 period, §2): the
-- account follows the provider's period (not the billing anchor's) on the
-- event's plan with its allowance, ending with the provider's period, and the
-- rest of the replaced period's allowance ends at once (plan_changed, cause
-- new_period). Idempotency on event_id: a retry, even naming the same
-- instants in other time zones, returns the account and writes nothing; the
-- same id with another plan or period_end, or for another account, is PT409
-- naming the event.

BEGIN;
SELECT plan(11);
SELECT '' FROM tests.catalog();
SELECT tests.subscription_plans();

SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('sub_a');
SELECT account_id FROM credits.open_account('sub_b');

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
                   '2026-03-12 08:00+00', '2026-04-13 08:00+00')$$, 'PT409',
                 'subscription event e_a1 was already applied with other arguments',
                 'the same event_id with another period_end: PT409');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_a1', 'sub_b', 'pro', 'active',
                   '2026-03-12 08:00+00', '2026-04-12 08:00+00')$$, 'PT409',
                 'subscription event e_a1 was already applied with other arguments',
                 'the same event_id for another account: PT409');

-- as superuser -------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
