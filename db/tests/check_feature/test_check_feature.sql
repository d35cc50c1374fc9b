-- check_feature (SPEC §2 Spending): allowed, reason, cost, available,
-- period_remaining and draws for every outcome (allowed, insufficient_credits,
-- feature_not_in_plan, account_inactive, a period limit, unlimited and demo
-- accounts at cost 0, a plan's cost_override), pricing per token and per
-- second rounded UP to 6 decimals; an unknown unit PT422, an unknown feature
-- or account PT404, naming them; and no side effect: the ledger, balances and
-- events are the same after it, even for a refusal. Roles: deduct_credits/test_roles.sql.

BEGIN;
SELECT plan(17);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('sp_main');
SELECT tests.open('sp_chapter');
SELECT tests.open('sp_susp');
SELECT tests.open('sp_team', 'team');
SELECT tests.open('sp_demo', is_demo => true);
SELECT tests.open('sp_pro', 'pro');
SELECT account_id FROM credits.set_account_status('sp_susp', 'suspended', 'chargeback 8812');

-- check_feature: every outcome, then nothing changed
CREATE TEMP TABLE ledger_before ON COMMIT DROP AS SELECT * FROM credits.ledger;
CREATE TEMP TABLE balances_before ON COMMIT DROP AS SELECT account_id, credit_type, balance, held FROM credits.balances;
CREATE TEMP TABLE events_before ON COMMIT DROP AS SELECT * FROM credits.events;

SELECT results_eq(
  $$select allowed, reason, cost, available, period_remaining, draws from credits.check_feature('sp_main', 'roast')$$,
  $$values (true, null::text, 1::numeric, 6::numeric, null::integer,
            jsonb_build_array(jsonb_build_object('grant_id', (select grant_id from credits.ledger
                                                              where account_id = 'sp_main' and kind = 'grant'),
                                                 'source', 'signup', 'amount', 1)))$$,
  'check_feature: roast on a free account is allowed, costs 1 of 6, no period limit, drawn from the signup grant');
SELECT results_eq(
  $$select allowed, reason, cost, available, period_remaining, draws
    from credits.check_feature('sp_main', 'video', '{"seconds": 20}')$$,
  $$values (false, 'insufficient_credits'::text, 10::numeric, 6::numeric, null::integer, '[]'::jsonb)$$,
  'check_feature: 20 seconds of video (10) with 6 available is insufficient_credits, no draws');
SELECT results_eq(
  $$select allowed, reason, cost, available, period_remaining, draws from credits.check_feature('sp_main', 'premium')$$,
  $$values (false, 'feature_not_in_plan'::text, 3::numeric, 6::numeric, null::integer, '[]'::jsonb)$$,
  'check_feature: premium is not in the free plan: feature_not_in_plan');
SELECT results_eq(
  $$select allowed, reason, cost, available, period_remaining, draws from credits.check_feature('sp_susp', 'roast')$$,
  $$values (false, 'account_inactive'::text, 1::numeric, 6::numeric, null::integer, '[]'::jsonb)$$,
  'check_feature: a suspended account is account_inactive (its credits stay)');
SELECT results_eq(
  $$select allowed, reason, cost, available, period_remaining from credits.check_feature('sp_chapter', 'chapter')$$,
  $$values (true, null::text, 1::numeric, 6::numeric, 3)$$,
  'check_feature: chapter on the free plan has 3 uses left this period');
SELECT results_eq(
  $$select allowed, reason, cost, available, period_remaining, draws from credits.check_feature('sp_team', 'premium')$$,
  $$values (true, null::text, 0::numeric, 0::numeric, null::integer, '[]'::jsonb)$$,
  'check_feature: an unlimited plan is allowed at cost 0, with nothing drawn');
SELECT results_eq(
  $$select allowed, reason, cost, available, draws from credits.check_feature('sp_demo', 'video', '{"seconds": 100}')$$,
  $$values (true, null::text, 0::numeric, 6::numeric, '[]'::jsonb)$$,
  'check_feature: a demo account is allowed at cost 0 whatever the units');
SELECT results_eq(
  $$select allowed, cost, available, draws from credits.check_feature('sp_pro', 'premium')$$,
  $$values (true, 2::numeric, 100::numeric,
            jsonb_build_array(jsonb_build_object('grant_id', (select grant_id from credits.ledger
                                                              where account_id = 'sp_pro' and kind = 'grant'),
                                                 'source', 'monthly', 'amount', 2)))$$,
  'check_feature: the pro plan''s cost_override makes premium cost 2 (not 3), drawn from the monthly grant');
SELECT is((select cost from credits.check_feature('sp_main', 'chat', '{"input_tokens": 1233, "output_tokens": 377}')),
          1.182::numeric, 'check_feature: chat is priced per token: 1233 * 0.0005 + 377 * 0.0015 = 1.182');
SELECT is((select cost from credits.check_feature('sp_main', 'video', '{"seconds": 1.0000001}')),
          0.500001::numeric, 'check_feature: 0.5 * 1.0000001 seconds = 0.50000005 rounds UP to 0.500001');
SELECT throws_ok($$select * from credits.check_feature('sp_main', 'video', '{"frames": 3}')$$, 'PT422',
                 'unknown unit frames for feature video', 'check_feature: an unknown unit raises PT422');
SELECT throws_ok($$select * from credits.check_feature('sp_main', 'teleport')$$, 'PT404', 'unknown feature teleport',
                 'check_feature: an unknown feature raises PT404');
SELECT throws_ok($$select * from credits.check_feature('nobody', 'roast')$$, 'PT404', 'unknown account nobody',
                 'check_feature: an unknown account raises PT404');

SELECT results_eq($$select * from credits.ledger order by transaction_id$$,
                  $$select * from ledger_before order by transaction_id$$,
                  'check_feature writes no ledger row');
SELECT results_eq($$select account_id, credit_type, balance, held from credits.balances order by 1, 2$$,
                  $$select * from balances_before order by 1, 2$$,
                  'check_feature changes no balance');
SELECT results_eq($$select * from credits.events order by event_id$$,
                  $$select * from events_before order by event_id$$,
                  'check_feature records no event, not even for a refusal');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
