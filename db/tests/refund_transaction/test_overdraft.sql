-- Refunding a debit that went into overdraft (issue 15; docs/contract.md,
-- Billing depth): its overdraft part comes back first and repays the debt
-- (the refund row's debt, a draw {"overdraft": true}); then the grants that
-- paid get theirs back. Where a grant has already repaid that debt, the
-- overdraft part goes to a new `refund` grant that never expires.

BEGIN;
SELECT plan(6);
SELECT tests.catalog();
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('od', signup_grant => '{"credits": 10}', overdraft => '{"credits": 50}');
SELECT '' FROM credits.set_plan_feature('od', 'roast');
SELECT tests.act_as('credits_service');
SELECT tests.open(a, 'od') FROM unnest(array['rf_a', 'rf_b']) a;
INSERT INTO tests.charged SELECT 'a', * FROM credits.deduct_credits('rf_a', 'roast', amount => 30);
INSERT INTO tests.charged SELECT 'b', * FROM credits.deduct_credits('rf_b', 'roast', amount => 30);

SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'r1', refund_id FROM credits.refund_transaction(tests.tx('a'), 'partly failed', 5);
SELECT results_eq($$select amount, debt, draws, balance_after from credits.ledger where transaction_id = tests.id('r1')$$,
                  $$values (5::numeric, -5::numeric, '[{"amount": 5.000000, "overdraft": true}]'::jsonb, -15::numeric)$$,
                  'a refund of 5 repays 5 of the debit''s 20 of overdraft first');
INSERT INTO tests.ids SELECT 'r2', refund_id FROM credits.refund_transaction(tests.tx('a'), 'failed');
SELECT results_eq(
  $$select amount, debt, draws, balance_after from credits.ledger where transaction_id = tests.id('r2')$$,
  $$values (25::numeric, -15::numeric,
            jsonb_build_array(jsonb_build_object('amount', 15.000000, 'overdraft', true),
                              jsonb_build_object('grant_id', tests.signup('rf_a'), 'of_grant_id', tests.signup('rf_a'),
                                                 'amount', 10.000000)),
            10::numeric)$$,
  'the rest: the other 15 of overdraft, then 10 back to the signup grant that paid');
SELECT results_eq($$select balance, debt from credits.balances where account_id = 'rf_a'$$,
                  $$values (10::numeric, 0::numeric)$$, 'refunded in full: out of debt, the 10 back');

SELECT '' FROM credits.grant_credits('rf_b', 20, reason => 'repay');
INSERT INTO tests.ids SELECT 'r3', refund_id FROM credits.refund_transaction(tests.tx('b'), 'failed');
SELECT results_eq(
  $$select l.debt, d.value ->> 'overdraft', g.source, g.amount, g.expires_at
    from credits.ledger l, jsonb_array_elements(l.draws) with ordinality d (value, n)
    join tests.grants('rf_b') g on g.grant_id = (d.value ->> 'grant_id')::bigint
    where l.transaction_id = tests.id('r3') and d.n = 1$$,
  $$values (null::numeric, 'true'::text, 'refund'::text, 20::numeric, null::timestamptz)$$,
  'its debt already repaid by a grant, the overdraft part goes to a new refund grant that never expires');
SELECT results_eq($$select balance, debt from credits.balances where account_id = 'rf_b'$$,
                  $$values (30::numeric, 0::numeric)$$, 'the 30 charged all came back');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation where account_id like 'rf\_%'$$,
                'reconciliation: refunds of an overdraft reconcile');

SELECT * FROM finish();
ROLLBACK;
