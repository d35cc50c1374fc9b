-- deduct_credits into an overdraft (issue 15; docs/contract.md, Billing
-- depth): a debit the grants cannot pay takes the balance below zero, down
-- to the plan's limit and no further; the grants pay what they have and
-- the rest is debt (the ledger row's debt, balances.debt); available is
-- negative; check_feature agrees, its last draw the overdraft; a plan
-- without an overdraft refuses as before.

BEGIN;
SELECT plan(14);
SELECT tests.catalog();
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('od', signup_grant => '{"credits": 10}', overdraft => '{"credits": 50}');
SELECT '' FROM unnest(array['roast', 'premium']) f, credits.set_plan_feature('od', f);
SELECT tests.act_as('credits_service');
SELECT tests.open(a, 'od') FROM unnest(array['od_a', 'od_b']) a;
SELECT tests.open('od_free');

INSERT INTO tests.charged SELECT 'd1', * FROM credits.deduct_credits('od_a', 'roast', amount => 30);
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'd1'$$,
                  $$values (true, 30::numeric, -20::numeric)$$,
                  'a debit beyond the grants: ok, charged in full, available -20');
SELECT results_eq(
  $$select amount, balance_before, balance_after, available_after, debt, draws from credits.ledger
    where transaction_id = tests.tx('d1')$$,
  $$values (-30::numeric, 10::numeric, -20::numeric, -20::numeric, 20::numeric,
            jsonb_build_array(jsonb_build_object('grant_id', tests.signup('od_a'), 'amount', 10.000000)))$$,
  'its ledger row: the grant paid 10 (draws), 20 became debt (debt), the balance went to -20');
SELECT results_eq($$select balance, debt, available from credits.balances where account_id = 'od_a'$$,
                  $$values (-20::numeric, 20::numeric, -20::numeric)$$,
                  'credits.balances: balance -20, debt 20, available -20');
INSERT INTO tests.charged SELECT 'd2', * FROM credits.deduct_credits('od_a', 'roast', amount => 30);
SELECT results_eq($$select ok, available from tests.charged where label = 'd2'$$, $$values (true, -50::numeric)$$,
                  'a debit to exactly the limit is ok: available -50');
SELECT results_eq($$select draws, debt from credits.ledger where transaction_id = tests.tx('d2')$$,
                  $$values ('[]'::jsonb, 30::numeric)$$, 'with no grant left all of it is debt: no draws');
INSERT INTO tests.charged SELECT 'd3', * FROM credits.deduct_credits('od_a', 'roast', amount => 0.000001);
SELECT results_eq($$select ok, reason, transaction_id, available from tests.charged where label = 'd3'$$,
                  $$values (false, 'insufficient_credits'::text, null::bigint, -50::numeric)$$,
                  'a micro-credit past the limit is refused as insufficient_credits');
SELECT results_eq($$select allowed, reason, available from credits.check_feature('od_a', 'roast')$$,
                  $$values (false, 'insufficient_credits'::text, -50::numeric)$$,
                  'check_feature at the limit: refused, available -50');
SELECT results_eq($$select available, buckets from credits.get_balance('od_a') where credit_type = 'credits'$$,
                  $$values (-50::numeric, '{"overdraft": -50.000000}'::jsonb)$$,
                  'get_balance: available -50, the debt as the overdraft bucket (buckets add up to available)');

SELECT '' FROM credits.deduct_credits('od_b', 'roast', amount => 9.5);
SELECT results_eq(
  $$select allowed, cost, available, draws from credits.check_feature('od_b', 'premium')$$,
  $$values (true, 3::numeric, 0.5::numeric,
            jsonb_build_array(jsonb_build_object('grant_id', tests.signup('od_b'), 'source', 'signup', 'amount', 0.500000),
                              jsonb_build_object('grant_id', null, 'source', 'overdraft', 'amount', 2.500000)))$$,
  'check_feature: allowed into the overdraft, the grant''s 0.5 then 2.5 of overdraft');
INSERT INTO tests.charged SELECT 'd4', * FROM credits.deduct_credits('od_b', 'premium');
SELECT results_eq(
  $$select l.amount, l.debt, l.draws, c.available from credits.ledger l join tests.charged c on c.transaction_id = l.transaction_id
    where c.label = 'd4'$$,
  $$values (-3::numeric, 2.5::numeric,
            jsonb_build_array(jsonb_build_object('grant_id', tests.signup('od_b'), 'amount', 0.500000)), -2.5::numeric)$$,
  'deduct_credits does what check_feature said');

INSERT INTO tests.charged SELECT 'f1', * FROM credits.deduct_credits('od_free', 'roast', amount => 7);
SELECT results_eq($$select ok, reason, available from tests.charged where label = 'f1'$$,
                  $$values (false, 'insufficient_credits'::text, 6::numeric)$$,
                  'a plan without an overdraft refuses a debit its grants cannot pay, as before');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation where account_id like 'od_%'$$,
                'reconciliation: balance = ledger sum = grant remainders less the debt; debt = the ledger''s');
SELECT tests.ledger_is_chained();
SELECT results_eq($$select count(*) from credits_private.grants where account_id like 'od_%' and remaining < 0$$,
                  $$values (0::bigint)$$, 'no grant''s remaining is below 0');

SELECT * FROM finish();
ROLLBACK;
