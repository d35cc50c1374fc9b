-- deduct_credits with an idempotency_key (SPEC §2 Spending): a retry with the
-- same key returns the first transaction and charges nothing more (units 2.0
-- are the same arguments as 2); the same key for another feature or amount is
-- PT409 naming the key; a refusal stores nothing under its key, so after a
-- purchase the same key succeeds, drawn from the signup grant before the
-- purchase.

BEGIN;
SELECT plan(12);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['sp_keys', 'sp_poor']) a;

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
                 'PT409',
                 'idempotency key order-1 of account sp_keys was used with other arguments',
                 'idempotency: the same key for another feature raises PT409');
SELECT throws_ok($$select * from credits.deduct_credits('sp_keys', 'roast', idempotency_key => 'order-1', amount => 2)$$,
                 'PT409',
                 'idempotency key order-1 of account sp_keys was used with other arguments',
                 'idempotency: the same key with another amount raises PT409');
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

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
