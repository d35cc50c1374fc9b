-- Rollover whoever renews (issue 15): expire_grants (the minute job) ending
-- the old allowance before the renewal does not change what rolls (the
-- expiry it wrote counts as unused); credits earmarked by a live hold count
-- as used; an upgrade mid-period rolls nothing (the allowance grows, the
-- period goes on); a downgrade scheduled for the period's end rolls by the
-- ending period's plan.

BEGIN;
SELECT plan(5);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('rj_pro', monthly_allowance => '{"credits": 100}',
                                   rollover => '{"credits": {"fraction": 0.5}}');
SELECT '' FROM credits.upsert_plan('rj_max', monthly_allowance => '{"credits": 500}',
                                   rollover => '{"credits": {"max": 10}}');
SELECT '' FROM unnest(array['rj_pro', 'rj_max']) p, credits.set_plan_feature(p, 'roast');

SELECT tests.act_as('credits_service');
SELECT tests.open(a, 'rj_pro') FROM unnest(array['rj_job', 'rj_lazy', 'rj_hold', 'rj_up', 'rj_down']) a;
SELECT '' FROM unnest(array['rj_job', 'rj_lazy', 'rj_up', 'rj_down']) a, credits.deduct_credits(a, 'roast', amount => 20);
SELECT '' FROM credits.update_account('rj_up', plan => 'rj_max');
SELECT '' FROM credits.update_account('rj_down', plan => 'free');

SELECT tests.travel('2026-04-10 11:30+00');
SELECT '' FROM credits.reserve_credits('rj_hold', 'roast', amount => 30, ttl => '1 hour');
SELECT tests.travel('2026-04-10 12:05+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.expire_grants();
SELECT tests.act_as('credits_service');
SELECT '' FROM unnest(array['rj_job', 'rj_lazy', 'rj_hold', 'rj_up', 'rj_down']) a, credits.deduct_credits(a, 'roast');
SELECT results_eq(
  $$select account_id, available from credits.balances
    where account_id in ('rj_job', 'rj_lazy') and credit_type = 'credits' order by 1$$,
  $$values ('rj_job'::text, 139::numeric), ('rj_lazy', 139)$$,
  'expire_grants ending the allowance first rolls the same 40 as a renewal it did not precede');
SELECT is((select available from credits.get_balance('rj_hold') where credit_type = 'credits'), 134::numeric,
          'credits held by a live hold count as used: half of 70 rolls');
SELECT is((select available from credits.get_balance('rj_up') where credit_type = 'credits'), 509::numeric,
          'upgraded mid-period: the allowance grew to 500 at once; at renewal the upgraded plan''s rule (max 10) rolls');
SELECT is((select available from credits.get_balance('rj_down') where credit_type = 'credits'), 39::numeric,
          'a downgrade to free at the period''s end: the ending period''s plan (rj_pro) rolls half of 80, though free has no allowance (40 less the debit)');
SELECT tests.act_as_superuser();
SELECT is((select count(*) from credits_private.grants where source = 'rollover' and account_id like 'rj_%'), 5::bigint,
          'one rollover grant per renewal');

SELECT * FROM finish();
ROLLBACK;
