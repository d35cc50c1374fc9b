-- Spending: check_feature and deduct_credits (SPEC §2 Spending, §3 roles).
--
-- check_feature: allowed, reason, cost, available, period_remaining and draws
-- for every outcome, and no side effects (ledger, balances and events are the
-- same after it). deduct_credits: the ok path (charged, available, the ledger
-- row behind transaction_id with its balance before/after and draws); every
-- refusal (insufficient_credits, feature_not_in_plan, account_inactive,
-- period_limit_reached: nothing charged, a feature_gated event); unlimited
-- plans (charged 0, a 0-amount debit row); demo accounts (charged 0, nothing
-- recorded); `amount` and the plan's cost_override; per-token and per-second
-- pricing rounded up to 6 decimals; PT422 for bad units or amounts, PT404 for
-- an unknown feature or account; idempotency (a retry replays, other
-- arguments PT409, a refusal stores nothing under its key); a second credit
-- type; users acting on their own account only; the auditor cannot deduct.
-- Results of deduct_credits are kept by label in tests.charged (db/tests/helpers.sql).

BEGIN;
SELECT plan(92);
SELECT '' FROM tests.catalog();  -- '' rather than the SQL function's null: TAP lines must be text
SELECT tests.travel('2026-03-10 12:00+00')::text;


-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT o.account_id
FROM (values ('sp_main', 'free', false), ('sp_chapter', 'free', false), ('sp_susp', 'free', false),
             ('sp_team', 'team', false), ('sp_demo', 'free', true), ('sp_pro', 'pro', false),
             ('sp_keys', 'free', false), ('sp_poor', 'free', false), ('sp_broke', 'free', false),
             ('alice', 'free', false), ('bob', 'free', false)) v (account_id, plan, is_demo),
     credits.open_account(v.account_id, v.plan, v.is_demo) o;
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
SELECT throws_ok($$select * from credits.check_feature('sp_main', 'video', '{"frames": 3}')$$, 'PT422', 'unknown unit frames for feature video',
                 'check_feature: an unknown unit raises PT422');
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

-- period_limit_reached: chapter is limited to 3 a period on the free plan
INSERT INTO tests.charged SELECT 'chapter1', * FROM credits.deduct_credits('sp_chapter', 'chapter');
SELECT is((select period_remaining from credits.check_feature('sp_chapter', 'chapter')), 2,
          'period limit: 2 chapters left after the first');
INSERT INTO tests.charged SELECT 'chapter2', * FROM credits.deduct_credits('sp_chapter', 'chapter');
SELECT is((select period_remaining from credits.check_feature('sp_chapter', 'chapter')), 1,
          'period limit: 1 chapter left after the second');
INSERT INTO tests.charged SELECT 'chapter3', * FROM credits.deduct_credits('sp_chapter', 'chapter');
SELECT results_eq($$select allowed, reason, period_remaining, draws from credits.check_feature('sp_chapter', 'chapter')$$,
                  $$values (false, 'period_limit_reached'::text, 0, '[]'::jsonb)$$,
                  'period limit: after the third, check_feature says period_limit_reached, 0 left');
SELECT results_eq($$select ok, charged, available from tests.charged where label like 'chapter_' order by label$$,
                  $$values (true, 1::numeric, 5::numeric), (true, 1, 4), (true, 1, 3)$$,
                  'period limit: the first three chapters are charged 1 each');
INSERT INTO tests.charged SELECT 'chapter4', * FROM credits.deduct_credits('sp_chapter', 'chapter');
SELECT results_eq($$select ok, reason, transaction_id, charged, available from tests.charged where label = 'chapter4'$$,
                  $$values (false, 'period_limit_reached'::text, null::bigint, 0::numeric, 3::numeric)$$,
                  'period limit: the fourth chapter is refused with period_limit_reached');
SELECT results_eq($$select feature, reason from credits.gate_events where account_id = 'sp_chapter'$$,
                  $$values ('chapter'::text, 'period_limit_reached'::text)$$,
                  'period limit: the refusal is a feature_gated event');
SELECT is((select count(*) from credits.ledger where account_id = 'sp_chapter' and kind = 'debit'), 3::bigint,
          'period limit: exactly three chapter debits in the ledger');
SELECT is((select period_remaining from credits.check_feature('sp_main', 'chapter')), 3,
          'period limit: counted per account: another free account still has 3 chapters');
INSERT INTO tests.charged SELECT 'broke', * FROM credits.deduct_credits('sp_broke', 'roast', amount => 6);
INSERT INTO tests.charged SELECT 'broke_chapter', * FROM credits.deduct_credits('sp_broke', 'chapter');
SELECT results_eq($$select ok, reason from tests.charged where label = 'broke_chapter'$$,
                  $$values (false, 'insufficient_credits'::text)$$,
                  'period limit: a chapter with no credits left is refused with insufficient_credits');
SELECT is((select period_remaining from credits.check_feature('sp_broke', 'chapter')), 3,
          'period limit: a refused chapter does not use up the period''s quota');

-- unlimited plan: ok, charged 0, a 0-amount debit row
INSERT INTO tests.charged SELECT 'team', * FROM credits.deduct_credits('sp_team', 'premium');
SELECT results_eq($$select ok, reason, transaction_id is not null, charged, available from tests.charged where label = 'team'$$,
                  $$values (true, null::text, true, 0::numeric, 0::numeric)$$,
                  'unlimited plan: ok, charged 0, with a transaction_id');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, feature from credits.ledger
    where transaction_id = (select transaction_id from tests.charged where label = 'team')$$,
  $$values ('debit'::text, 0::numeric, 0::numeric, 0::numeric, 'premium'::text)$$,
  'unlimited plan: the usage is a 0-amount debit ledger row');

-- demo account: ok, charged 0, nothing recorded
CREATE TEMP TABLE demo_before ON COMMIT DROP AS
  SELECT (SELECT count(*) FROM credits.ledger WHERE account_id = 'sp_demo') AS ledger_rows,
         (SELECT count(*) FROM credits.events WHERE account_id = 'sp_demo') AS events;
INSERT INTO tests.charged SELECT 'demo', * FROM credits.deduct_credits('sp_demo', 'video', '{"seconds": 100}');
SELECT results_eq($$select ok, reason, transaction_id, charged, available from tests.charged where label = 'demo'$$,
                  $$values (true, null::text, null::bigint, 0::numeric, 6::numeric)$$,
                  'demo account: ok, charged 0, no transaction');
SELECT is((select count(*) from credits.ledger where account_id = 'sp_demo'), (select ledger_rows from demo_before),
          'demo account: no ledger row');
SELECT is((select count(*) from credits.events where account_id = 'sp_demo'), (select events from demo_before),
          'demo account: no event');

-- amount, cost_override and unit pricing (pro plan: 100 monthly credits)
INSERT INTO tests.charged SELECT 'amount', * FROM credits.deduct_credits('sp_pro', 'roast', amount => 7.5);
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'amount'$$,
                  $$values (true, 7.5::numeric, 92.5::numeric)$$,
                  'amount: 7.5 replaces roast''s computed cost of 1');
SELECT is((select amount from credits.ledger where transaction_id = (select transaction_id from tests.charged where label = 'amount')),
          -7.5::numeric, 'amount: the ledger row is -7.5');
INSERT INTO tests.charged SELECT 'amount_units', * FROM credits.deduct_credits('sp_pro', 'video', '{"seconds": 8}', amount => 0.25);
SELECT is((select charged from tests.charged where label = 'amount_units'), 0.25::numeric,
          'amount: 0.25 replaces the 4 that 8 seconds of video would cost');
INSERT INTO tests.charged SELECT 'override', * FROM credits.deduct_credits('sp_pro', 'premium');
SELECT is((select charged from tests.charged where label = 'override'), 2::numeric,
          'cost_override: premium is charged 2 on the pro plan');
INSERT INTO tests.charged SELECT 'override_amount', * FROM credits.deduct_credits('sp_pro', 'premium', amount => 5);
SELECT is((select charged from tests.charged where label = 'override_amount'), 5::numeric,
          'cost_override: an explicit amount wins over the plan''s cost_override');
INSERT INTO tests.charged SELECT 'tokens', * FROM credits.deduct_credits('sp_pro', 'chat', '{"input_tokens": 1233, "output_tokens": 377}');
SELECT is((select charged from tests.charged where label = 'tokens'), 1.182::numeric,
          'per-token pricing: 1233 input and 377 output tokens are charged 1.182');
INSERT INTO tests.charged SELECT 'seconds', * FROM credits.deduct_credits('sp_pro', 'video', '{"seconds": 8}');
SELECT results_eq(
  $$select amount, units from credits.ledger where transaction_id = (select transaction_id from tests.charged where label = 'seconds')$$,
  $$values (-4::numeric, '{"seconds": 8}'::jsonb)$$,
  'per-second pricing: 8 seconds of video is a -4 ledger row carrying its units');
INSERT INTO tests.charged SELECT 'round_seconds', * FROM credits.deduct_credits('sp_pro', 'video', '{"seconds": 1.0000001}');
SELECT is((select charged from tests.charged where label = 'round_seconds'), 0.500001::numeric,
          'rounding: 1.0000001 seconds (0.50000005) is charged 0.500001, rounded up');
INSERT INTO tests.charged SELECT 'round_tokens', * FROM credits.deduct_credits('sp_pro', 'chat', '{"input_tokens": 1, "output_tokens": 0.0000007}');
SELECT is((select charged from tests.charged where label = 'round_tokens'), 0.000501::numeric,
          'rounding: 0.00050000105 of tokens is charged 0.000501, rounded up');
SELECT is((select available from credits.get_balance('sp_pro') where credit_type = 'credits'),
          (100 - 7.5 - 0.25 - 2 - 5 - 1.182 - 4 - 0.500001 - 0.000501)::numeric,
          'the pro account''s balance is 100 less exactly what was charged');

-- invalid calls
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'video', '{"frames": 3}')$$, 'PT422', 'unknown unit frames for feature video',
                 'deduct_credits: an unknown unit raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'roast', '{"seconds": 1}')$$, 'PT422', 'unknown unit seconds for feature roast',
                 'deduct_credits: a unit for a feature priced per call raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'video', '{"seconds": -1}')$$, 'PT422', 'unit seconds must be a number of 0 or more, got -1',
                 'deduct_credits: a negative unit raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'video', '{"seconds": "8"}')$$, 'PT422', 'unit seconds must be a number of 0 or more, got "8"',
                 'deduct_credits: a unit that is not a JSON number raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'video', '[8]')$$, 'PT422', 'units must be a JSON object, got [8]',
                 'deduct_credits: units that are not a JSON object raise PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'roast', amount => 0)$$, 'PT422', 'amount must be above 0, got 0',
                 'deduct_credits: amount 0 raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'roast', amount => 1.0000001)$$, 'PT422', 'amount has more than 6 decimal places: 1.0000001',
                 'deduct_credits: an amount with 7 decimals raises PT422');
SELECT throws_ok($$select * from credits.deduct_credits('sp_pro', 'teleport')$$, 'PT404', 'unknown feature teleport',
                 'deduct_credits: an unknown feature raises PT404');
SELECT throws_ok($$select * from credits.deduct_credits('nobody', 'roast')$$, 'PT404', 'unknown account nobody',
                 'deduct_credits: an unknown account raises PT404');

-- idempotency
INSERT INTO tests.charged SELECT 'key1', * FROM credits.deduct_credits('sp_keys', 'roast', idempotency_key => 'order-1');
INSERT INTO tests.charged SELECT 'key1_retry', * FROM credits.deduct_credits('sp_keys', 'roast', idempotency_key => 'order-1');
SELECT results_eq($$select ok, transaction_id, charged, available from tests.charged where label = 'key1_retry'$$,
                  $$select ok, transaction_id, charged, available from tests.charged where label = 'key1'$$,
                  'idempotency: a retry with the same key returns the first transaction');
SELECT results_eq($$select count(*), sum(amount) from credits.ledger where account_id = 'sp_keys' and kind = 'debit'$$,
                  $$values (1::bigint, -1::numeric)$$,
                  'idempotency: the retry charged nothing more: one debit row');
SELECT is((select available from credits.get_balance('sp_keys') where credit_type = 'credits'), 5::numeric,
          'idempotency: 5 available after a call and its retry');
SELECT throws_ok($$select * from credits.deduct_credits('sp_keys', 'chat', '{"input_tokens": 10}', idempotency_key => 'order-1')$$,
                 'PT409', 'idempotency key order-1 of account sp_keys was used with other arguments', 'idempotency: the same key for another feature raises PT409');
SELECT throws_ok($$select * from credits.deduct_credits('sp_keys', 'roast', idempotency_key => 'order-1', amount => 2)$$,
                 'PT409', 'idempotency key order-1 of account sp_keys was used with other arguments', 'idempotency: the same key with another amount raises PT409');
INSERT INTO tests.charged SELECT 'key2', * FROM credits.deduct_credits('sp_keys', 'video', '{"seconds": 2}', idempotency_key => 'order-2');
SELECT lives_ok($$insert into tests.charged select 'key2_retry', * from credits.deduct_credits('sp_keys', 'video', '{"seconds": 2.0}', idempotency_key => 'order-2')$$,
                'idempotency: units 2.0 are the same arguments as 2 (JSON numbers are equal by value)');
SELECT results_eq($$select transaction_id from tests.charged where label = 'key2_retry'$$,
                  $$select transaction_id from tests.charged where label = 'key2'$$,
                  'idempotency: the retry with units 2.0 replays the first transaction');
INSERT INTO tests.charged SELECT 'poor1', * FROM credits.deduct_credits('sp_poor', 'video', '{"seconds": 20}', idempotency_key => 'render-9');
SELECT results_eq($$select ok, reason from tests.charged where label = 'poor1'$$,
                  $$values (false, 'insufficient_credits'::text)$$,
                  'idempotency: a call with a key can be refused (10 with 6 available)');
SELECT is((select count(*) from credits.ledger where account_id = 'sp_poor' and idempotency_key = 'render-9'), 0::bigint,
          'idempotency: a refusal stores nothing under its key');
SELECT grant_id::text FROM credits.purchase_credits('sp_poor', 10, 'pay-sp-1');
INSERT INTO tests.charged SELECT 'poor2', * FROM credits.deduct_credits('sp_poor', 'video', '{"seconds": 20}', idempotency_key => 'render-9');
SELECT results_eq($$select ok, reason, charged, available from tests.charged where label = 'poor2'$$,
                  $$values (true, null::text, 10::numeric, 6::numeric)$$,
                  'idempotency: after a purchase the same key succeeds');
SELECT results_eq(
  $$select transaction_id, draws from credits.ledger where account_id = 'sp_poor' and idempotency_key = 'render-9'$$,
  $$select (select transaction_id from tests.charged where label = 'poor2'),
           jsonb_build_array(
             jsonb_build_object('grant_id', (select grant_id from credits.ledger where account_id = 'sp_poor'
                                             and kind = 'grant' and metadata ->> 'source' = 'signup'), 'amount', 6),
             jsonb_build_object('grant_id', (select grant_id from credits.ledger where account_id = 'sp_poor'
                                             and kind = 'grant' and metadata ->> 'source' = 'purchase'), 'amount', 4))$$,
  'idempotency: the key now names the successful debit, drawn from the signup grant before the purchase');

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

-- the next period (opened 2026-03-10 12:00 UTC: the second period starts 04-10 12:00)
SELECT tests.travel('2026-04-11 12:00+00')::text;
SELECT results_eq($$select allowed, reason, period_remaining from credits.check_feature('sp_chapter', 'chapter')$$,
                  $$values (true, null::text, 3)$$,
                  'next period: check_feature reports a fresh quota of 3 chapters (periods settle lazily)');
INSERT INTO tests.charged SELECT 'chapter_next', * FROM credits.deduct_credits('sp_chapter', 'chapter');
SELECT results_eq($$select ok, reason, charged from tests.charged where label = 'chapter_next'$$,
                  $$values (true, null::text, 1::numeric)$$,
                  'next period: a chapter is allowed again');
SELECT throws_ok($$select * from credits.deduct_credits('sp_main', 'roast', metadata => '[1]')$$, 'PT422', 'metadata must be a JSON object, got [1]',
                 'deduct_credits: metadata that is not a JSON object raises PT422');

-- as user alice ------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
INSERT INTO tests.charged SELECT 'alice', * FROM credits.deduct_credits('alice', 'roast');
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'alice'$$,
                  $$values (true, 1::numeric, 5::numeric)$$,
                  'alice deducts from her own account');
SELECT is((select actor from credits.ledger where transaction_id = (select transaction_id from tests.charged where label = 'alice')),
          'alice', 'the ledger row''s actor is alice''s JWT sub');
SELECT results_eq($$select allowed, available from credits.check_feature('alice', 'roast')$$,
                  $$values (true, 5::numeric)$$,
                  'alice checks a feature on her own account');
SELECT throws_ok($$select * from credits.deduct_credits('bob', 'roast')$$, '42501', 'caller may not act on account bob',
                 'alice may not deduct from bob''s account (42501)');
SELECT throws_ok($$select * from credits.check_feature('bob', 'roast')$$, '42501', 'caller may not act on account bob',
                 'alice may not check a feature on bob''s account (42501)');
SELECT throws_ok($$select * from credits.deduct_credits('nobody', 'roast')$$, '42501', 'caller may not act on account nobody',
                 'alice naming an account that does not exist gets 42501, not PT404 (existence does not leak)');

-- as user bob --------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'bob');
SELECT throws_ok($$select * from credits.deduct_credits('alice', 'roast')$$, '42501', 'caller may not act on account alice',
                 'bob may not deduct from alice''s account (42501)');
SELECT is((select charged from credits.deduct_credits('bob', 'video', '{"seconds": 4}')), 2::numeric,
          'bob deducts from his own account');

-- as auditor ---------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.deduct_credits('alice', 'roast')$$, '42501', 'permission denied for function deduct_credits',
                 'the auditor may not deduct (42501)');
SELECT results_eq($$select allowed, available from credits.check_feature('alice', 'roast')$$,
                  $$values (true, 5::numeric)$$,
                  'the auditor may check a feature on any account');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT results_eq($$select account_id, available from credits.balances where account_id in ('alice', 'bob') order by 1$$,
                  $$values ('alice'::text, 5::numeric), ('bob', 4)$$,
                  'alice and bob were each charged only by their own calls');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
