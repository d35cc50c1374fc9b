-- A first event naming the account's own period is an upgrade of it
-- (trialing counts as active: one adjustment row); canceled then active
-- again in the same period, the later event wins and the account stays on
-- its plan awaiting the renewal (SPEC §2 apply_subscription_event). A
-- past_due renewal opens the provider's period without allowance;
-- grant_subscriber_monthly_credits issues it once (the same grant on a second
-- call), and the active event for the same period issues nothing more.

BEGIN;
SELECT plan(13);
SELECT '' FROM tests.catalog();
SELECT tests.subscription_plans();

SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('sub_b');

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

-- as superuser -------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
