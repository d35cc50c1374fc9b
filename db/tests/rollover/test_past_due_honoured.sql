-- A past_due renewal withholds the rollover with the allowance; when the
-- period is paid (an active event for it, an upgrade, or
-- grant_subscriber_monthly_credits) the rollover fixed at the renewal is
-- issued with the allowance, once; a hold released after the renewal does
-- not change it; a period paid after it ended issues neither.

BEGIN;
SELECT plan(7);
SELECT tests.catalog();
SELECT tests.travel('2026-03-01 00:00+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('pd_pro', monthly_allowance => '{"credits": 100}',
                                   rollover => '{"credits": {"max": 25}}');
SELECT '' FROM credits.upsert_plan('pd_max', monthly_allowance => '{"credits": 300}',
                                   rollover => '{"credits": {"max": 200}}');
SELECT '' FROM credits.set_plan_feature('pd_pro', 'roast');
SELECT tests.act_as('credits_service');
SELECT tests.open(a, 'free') FROM unnest(array['pd_event', 'pd_grant', 'pd_up', 'pd_late']) a;
SELECT '' FROM unnest(array['pd_event', 'pd_grant', 'pd_up', 'pd_late']) a,
  credits.apply_subscription_event('ev1_' || a, a, 'pd_pro', 'active', '2026-03-01 00:00+00', '2026-04-01 00:00+00');
SELECT '' FROM unnest(array['pd_event', 'pd_grant', 'pd_up', 'pd_late']) a,
  credits.deduct_credits(a, 'roast', amount => 90);
-- pd_grant holds 4 of its 10 left when the period ends: counted as used.
SELECT tests.travel('2026-03-20 00:00+00');
SELECT '' FROM credits.reserve_credits('pd_grant', 'roast', amount => 4, idempotency_key => 'pd_hold',
                                       ttl => interval '30 days');

SELECT tests.travel('2026-04-01 00:10+00');
SELECT '' FROM unnest(array['pd_event', 'pd_grant', 'pd_up', 'pd_late']) a,
  credits.apply_subscription_event('ev2_' || a, a, 'pd_pro', 'past_due', '2026-04-01 00:00+00',
                                   '2026-05-01 00:00+00');
SELECT is((select available from credits.get_balance('pd_event') where credit_type = 'credits'), 6::numeric,
          'past_due: neither the allowance nor the rollover yet');

SELECT tests.travel('2026-04-03 00:00+00');
SELECT '' FROM credits.holds h, credits.release_hold(h.hold_id) WHERE h.account_id = 'pd_grant';
SELECT '' FROM credits.apply_subscription_event('ev3_pd_event', 'pd_event', 'pd_pro', 'active',
                                                '2026-04-01 00:00+00', '2026-05-01 00:00+00');
SELECT '' FROM credits.apply_subscription_event('ev3_pd_event', 'pd_event', 'pd_pro', 'active',
                                                '2026-04-01 00:00+00', '2026-05-01 00:00+00');
SELECT '' FROM credits.apply_subscription_event('ev4_pd_event', 'pd_event', 'pd_pro', 'active',
                                                '2026-04-01 00:00+00', '2026-05-01 00:00+00');
SELECT results_eq(
  $$select available, buckets from credits.get_balance('pd_event') where credit_type = 'credits'$$,
  $$values (116::numeric, '{"monthly": 100, "rollover": 10, "signup": 6}'::jsonb)$$,
  'paid by an active event: the allowance and the 10 rolled, once though paid again');
SELECT '' FROM credits.grant_subscriber_monthly_credits('pd_grant');
SELECT '' FROM credits.grant_subscriber_monthly_credits('pd_grant');
SELECT results_eq(
  $$select available, buckets from credits.get_balance('pd_grant') where credit_type = 'credits'$$,
  $$values (112::numeric, '{"monthly": 100, "rollover": 6, "signup": 6}'::jsonb)$$,
  'paid by grant_subscriber_monthly_credits: the 6 unused at the renewal, not the hold released since');
SELECT '' FROM credits.apply_subscription_event('ev3_pd_up', 'pd_up', 'pd_max', 'active',
                                                '2026-04-01 00:00+00', '2026-05-01 00:00+00');
SELECT results_eq(
  $$select available, buckets from credits.get_balance('pd_up') where credit_type = 'credits'$$,
  $$values (316::numeric, '{"monthly": 300, "rollover": 10, "signup": 6}'::jsonb)$$,
  'paid with an upgrade: the upgraded allowance and the rollover by the ending period''s plan');
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select l.account_id, l.amount, l.reason from credits.ledger l
    join credits_private.grants g on g.account_id = l.account_id and g.grant_id = l.grant_id
    where g.source = 'rollover' and l.kind = 'grant' order by l.account_id$$,
  $$values ('pd_event'::text, 10::numeric,
            'rollover of 10.000000 unused of the monthly allowance of plan pd_pro, period ending 2026-04-01 00:00:00+00'::text),
           ('pd_grant', 6,
            'rollover of 6.000000 unused of the monthly allowance of plan pd_pro, period ending 2026-04-01 00:00:00+00'),
           ('pd_up', 10,
            'rollover of 10.000000 unused of the monthly allowance of plan pd_pro, period ending 2026-04-01 00:00:00+00')$$,
  'one rollover grant each, its reason naming the period that ended');

SELECT tests.travel('2026-05-01 00:10+00');
SELECT tests.act_as('credits_service');
SELECT '' FROM credits.apply_subscription_event('ev3_pd_late', 'pd_late', 'pd_pro', 'active',
                                                '2026-04-01 00:00+00', '2026-05-01 00:00+00');
SELECT tests.act_as_superuser();
SELECT is((select count(*) from credits_private.grants g where g.account_id = 'pd_late' and g.source = 'rollover'),
          0::bigint, 'a period paid after it ended: no rollover');
SELECT is((select count(*) from credits_private.grants g
           where g.account_id = 'pd_late' and g.period_start = '2026-04-01 00:00+00'), 0::bigint,
          'and no allowance for it either');

SELECT * FROM finish();
ROLLBACK;
