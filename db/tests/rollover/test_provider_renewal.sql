-- Rollover at a provider's renewal (apply_subscription_event, a new
-- period): the ending provider period's unused monthly allowance rolls by
-- its plan's rule into a grant ending with the new period, once however
-- often the event is retried; a past_due renewal rolls nothing.

BEGIN;
SELECT plan(4);
SELECT tests.catalog();
SELECT tests.travel('2026-03-01 00:00+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('rp_pro', monthly_allowance => '{"credits": 100}',
                                   rollover => '{"credits": {"max": 25}}');
SELECT '' FROM credits.set_plan_feature('rp_pro', 'roast');
SELECT tests.act_as('credits_service');
SELECT tests.open(a, 'free') FROM unnest(array['rp_a', 'rp_due']) a;
SELECT '' FROM unnest(array['rp_a', 'rp_due']) a,
  credits.apply_subscription_event('ev1_' || a, a, 'rp_pro', 'active', '2026-03-01 00:00+00', '2026-04-01 00:00+00');
SELECT '' FROM unnest(array['rp_a', 'rp_due']) a, credits.deduct_credits(a, 'roast', amount => 90);

SELECT tests.travel('2026-04-01 00:10+00');
SELECT '' FROM credits.apply_subscription_event('ev2', 'rp_a', 'rp_pro', 'active', '2026-04-01 00:00+00',
                                                '2026-05-01 00:00+00');
SELECT '' FROM credits.apply_subscription_event('ev2', 'rp_a', 'rp_pro', 'active', '2026-04-01 00:00+00',
                                                '2026-05-01 00:00+00');
SELECT '' FROM credits.apply_subscription_event('ev2_due', 'rp_due', 'rp_pro', 'past_due', '2026-04-01 00:00+00',
                                                '2026-05-01 00:00+00');
SELECT results_eq(
  $$select available, buckets from credits.get_balance('rp_a') where credit_type = 'credits'$$,
  $$values (116::numeric, '{"monthly": 100, "rollover": 10, "signup": 6}'::jsonb)$$,
  'the renewal rolled the 10 unused (under the max of 25), once though the event came twice');
SELECT is((select available from credits.get_balance('rp_due') where credit_type = 'credits'), 6::numeric,
          'a past_due renewal issues no allowance and rolls nothing');
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select source, amount, expires_at, period_start from credits_private.grants
    where account_id = 'rp_a' and source = 'rollover'$$,
  $$values ('rollover'::text, 10::numeric, '2026-05-01 00:00+00'::timestamptz, '2026-04-01 00:00+00'::timestamptz)$$,
  'one rollover grant, ending with the provider''s new period');
SELECT results_eq(
  $$select kind, amount from credits.ledger where account_id = 'rp_a' and created_at = '2026-04-01 00:10+00'
    order by transaction_id$$,
  $$values ('expiry'::text, -10::numeric), ('grant', 100), ('grant', 10)$$,
  'the ledger: the old allowance''s 10 expire, the new allowance, the rollover grant');

SELECT * FROM finish();
ROLLBACK;
