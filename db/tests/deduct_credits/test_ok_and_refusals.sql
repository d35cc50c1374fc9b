-- deduct_credits (SPEC §2 Spending): the ok path (charged, available, the
-- ledger row behind transaction_id with its balance before/after, draws,
-- metadata and actor); every refusal (insufficient_credits,
-- feature_not_in_plan, account_inactive) charges nothing, writes no ledger
-- row and is a feature_gated event with cost and available; a second credit
-- type (analysis_run costs 2 analysis credits, the general ones untouched);
-- metadata that is not a JSON object is PT422.

BEGIN;
SELECT plan(18);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['sp_main', 'sp_susp']) a;
SELECT account_id FROM credits.set_account_status('sp_susp', 'suspended', 'chargeback 8812');

-- deduct_credits: the ok path
INSERT INTO tests.charged SELECT 'ok', * FROM credits.deduct_credits('sp_main', 'roast', metadata => '{"job": "j1"}');
SELECT results_eq($$select ok, reason, charged, available, credit_type from tests.charged where label = 'ok'$$,
                  $$values (true, null::text, 1::numeric, 5::numeric, 'credits'::text)$$,
                  'deduct_credits: ok, charged 1, 5 available');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, feature, draws, metadata, actor
    from credits.ledger where transaction_id = (select transaction_id from tests.charged where label = 'ok')$$,
  $$values ('debit'::text, -1::numeric, 6::numeric, 5::numeric, 'roast'::text,
            jsonb_build_array(jsonb_build_object('grant_id', (select grant_id from credits.ledger
                                                              where account_id = 'sp_main' and kind = 'grant'),
                                                 'amount', 1)),
            '{"job": "j1"}'::jsonb, 'credits_service'::text)$$,
  'deduct_credits: transaction_id is the debit ledger row: -1, balance 6 -> 5, draws, metadata, actor');
SELECT is((select available from credits.get_balance('sp_main') where credit_type = 'credits'), 5::numeric,
          'deduct_credits: get_balance shows 5 available after the debit');

-- refusals: nothing charged, a feature_gated event
INSERT INTO tests.charged SELECT 'insufficient', * FROM credits.deduct_credits('sp_main', 'video', '{"seconds": 20}');
SELECT results_eq($$select ok, reason, transaction_id, charged, available, credit_type from tests.charged where label = 'insufficient'$$,
                  $$values (false, 'insufficient_credits'::text, null::bigint, 0::numeric, 5::numeric, 'credits'::text)$$,
                  'deduct_credits: 10 with 5 available is refused with insufficient_credits, nothing charged');
SELECT results_eq(
  $$select feature, reason, cost, available, credit_type from credits.gate_events
    where account_id = 'sp_main' and reason = 'insufficient_credits'$$,
  $$values ('video'::text, 'insufficient_credits'::text, 10::numeric, 5::numeric, 'credits'::text)$$,
  'deduct_credits: the insufficient_credits refusal is a feature_gated event with cost and available');
INSERT INTO tests.charged SELECT 'not_in_plan', * FROM credits.deduct_credits('sp_main', 'premium');
SELECT results_eq($$select ok, reason, transaction_id, charged, available from tests.charged where label = 'not_in_plan'$$,
                  $$values (false, 'feature_not_in_plan'::text, null::bigint, 0::numeric, 5::numeric)$$,
                  'deduct_credits: premium on the free plan is refused with feature_not_in_plan');
SELECT results_eq($$select feature, reason from credits.gate_events
                    where account_id = 'sp_main' and reason = 'feature_not_in_plan'$$,
                  $$values ('premium'::text, 'feature_not_in_plan'::text)$$,
                  'deduct_credits: the feature_not_in_plan refusal is a feature_gated event');
SELECT results_eq($$select kind, amount from credits.ledger where account_id = 'sp_main' order by transaction_id$$,
                  $$values ('grant'::text, 6::numeric), ('debit', -1)$$,
                  'deduct_credits: the two refusals wrote no ledger row');
SELECT is((select available from credits.get_balance('sp_main') where credit_type = 'credits'), 5::numeric,
          'deduct_credits: the two refusals left the balance at 5');
INSERT INTO tests.charged SELECT 'inactive', * FROM credits.deduct_credits('sp_susp', 'roast');
SELECT results_eq($$select ok, reason, transaction_id, charged, available from tests.charged where label = 'inactive'$$,
                  $$values (false, 'account_inactive'::text, null::bigint, 0::numeric, 6::numeric)$$,
                  'deduct_credits: a suspended account is refused with account_inactive');
SELECT results_eq($$select feature, reason from credits.gate_events where account_id = 'sp_susp'$$,
                  $$values ('roast'::text, 'account_inactive'::text)$$,
                  'deduct_credits: the account_inactive refusal is a feature_gated event');
SELECT is((select count(*) from credits.ledger where account_id = 'sp_susp' and kind = 'debit'), 0::bigint,
          'deduct_credits: a suspended account is never debited');

-- another credit type: analysis_run costs 2 analysis credits
INSERT INTO tests.charged SELECT 'analysis1', * FROM credits.deduct_credits('sp_main', 'analysis_run');
SELECT results_eq($$select ok, reason, charged, available, credit_type from tests.charged where label = 'analysis1'$$,
                  $$values (false, 'insufficient_credits'::text, 0::numeric, 0::numeric, 'analysis'::text)$$,
                  'credit types: analysis_run is refused with 5 general credits and no analysis credits');
SELECT grant_id::text FROM credits.grant_credits('sp_main', 4, 'promo', credit_type => 'analysis');
SELECT results_eq($$select allowed, cost, available from credits.check_feature('sp_main', 'analysis_run')$$,
                  $$values (true, 2::numeric, 4::numeric)$$,
                  'credit types: check_feature counts the analysis credits only');
INSERT INTO tests.charged SELECT 'analysis2', * FROM credits.deduct_credits('sp_main', 'analysis_run');
SELECT results_eq($$select ok, reason, charged, available, credit_type from tests.charged where label = 'analysis2'$$,
                  $$values (true, null::text, 2::numeric, 2::numeric, 'analysis'::text)$$,
                  'credit types: once analysis credits are granted, analysis_run is charged 2 of them');
SELECT results_eq($$select credit_type, available from credits.get_balance('sp_main') order by credit_type$$,
                  $$values ('analysis'::text, 2::numeric), ('credits', 5)$$,
                  'credit types: the general credits are untouched by analysis_run');
SELECT throws_ok($$select * from credits.deduct_credits('sp_main', 'roast', metadata => '[1]')$$, 'PT422',
                 'metadata must be a JSON object, got [1]',
                 'deduct_credits: metadata that is not a JSON object raises PT422');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
