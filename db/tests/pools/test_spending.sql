-- A member's debit (docs/contract.md, Teams): its own grants first, then
-- the pool's, within its cap; the most restrictive of its own balance, the
-- pool's balance and the cap decides. The pool's ledger row names the
-- member, the member's names the pool's row; a refusal writes nothing and
-- says which limit refused (feature_gated's limited_by).

BEGIN;
SELECT plan(14);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

SELECT '' FROM credits.upsert_plan('seat');
SELECT '' FROM credits.set_plan_feature('seat', 'roast');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('team', 'pro');
SELECT tests.open('ann', 'seat');
SELECT tests.open('bob');
SELECT '' FROM credits.add_pool_member('team', 'ann', '{"credits": 5}');
SELECT '' FROM credits.add_pool_member('team', 'bob');

INSERT INTO tests.charged SELECT 'ann1', * FROM credits.deduct_credits('ann', 'roast');
SELECT results_eq($$select ok, charged, available from tests.charged where label = 'ann1'$$,
                  $$values (true, 1::numeric, 0::numeric)$$,
                  'ann has no credits of her own: the pool pays, charged is the whole cost, available her own');
SELECT results_eq($$select m.amount, m.pool_id, p.account_id, p.amount, p.member_id
                    from credits.ledger m join credits.ledger p on p.transaction_id = m.pool_transaction_id
                    where m.transaction_id = tests.tx('ann1')$$,
                  $$values (0::numeric, 'team'::text, 'team'::text, -1::numeric, 'ann'::text)$$,
                  'ann''s ledger row names the pool''s row, which names ann and pays it all');

INSERT INTO tests.charged SELECT 'bob8', * FROM credits.deduct_credits('bob', 'roast', amount => 8);
SELECT results_eq($$select l.account_id, l.amount, l.member_id from credits.ledger l
                    where l.transaction_id in (tests.tx('bob8'),
                                               (select pool_transaction_id from credits.ledger
                                                where transaction_id = tests.tx('bob8')))
                    order by l.transaction_id$$,
                  $$values ('team'::text, -2::numeric, 'bob'::text), ('bob', -6, null)$$,
                  'bob''s own 6 credits go first, the pool pays the other 2');

INSERT INTO tests.charged SELECT 'ann4', * FROM credits.deduct_credits('ann', 'roast', amount => 4);
SELECT is((select ok from tests.charged where label = 'ann4'), true, 'ann may take up to her cap of 5');
INSERT INTO tests.charged SELECT 'ann_over', * FROM credits.deduct_credits('ann', 'roast');
SELECT results_eq($$select ok, reason, charged from tests.charged where label = 'ann_over'$$,
                  $$values (false, 'insufficient_credits'::text, 0::numeric)$$,
                  'past her cap ann is refused with insufficient_credits, though the pool has credits');
SELECT is((select payload ->> 'limited_by' from credits.events
           where account_id = 'ann' and kind = 'feature_gated'),
          'member_cap', 'the refusal''s feature_gated event says the cap refused it');
SELECT results_eq($$select allowed, reason from credits.check_feature('ann', 'roast')$$,
                  $$values (false, 'insufficient_credits'::text)$$,
                  'check_feature says the same of ann past her cap');
SELECT is((select available from credits.balances where account_id = 'team'), 93::numeric,
          'the pool gave 1 + 2 + 4 credits and no more');

INSERT INTO tests.charged SELECT 'bob_big', * FROM credits.deduct_credits('bob', 'roast', amount => 94);
SELECT results_eq($$select c.ok, c.reason, e.payload ->> 'limited_by' from tests.charged c, credits.events e
                    where c.label = 'bob_big' and e.account_id = 'bob' and e.kind = 'feature_gated'$$,
                  $$values (false, 'insufficient_credits'::text, 'pool_balance'::text)$$,
                  'bob has no cap but the pool has only 93: refused, naming the pool''s balance');
SELECT is((select count(*)::integer from credits.ledger where account_id in ('team', 'bob')), 6,
          'a refusal writes no ledger row (the pool''s grant and three shares, bob''s signup and debit)');

SELECT is((select draws from credits.check_feature('bob', 'roast')),
          jsonb_build_array(jsonb_build_object('grant_id', (select grant_id from credits.ledger
                                                            where account_id = 'team' and kind = 'grant'),
                                               'source', 'monthly', 'amount', 1.000000, 'pool_id', 'team')),
          'check_feature''s draws name the pool''s grant and the pool');

INSERT INTO tests.charged SELECT 'key', * FROM credits.deduct_credits('bob', 'roast', idempotency_key => 'k1',
                                                                        amount => 3);
INSERT INTO tests.charged SELECT 'key_again', * FROM credits.deduct_credits('bob', 'roast', idempotency_key => 'k1',
                                                                              amount => 3);
SELECT results_eq($$select a.transaction_id = b.transaction_id, b.charged from tests.charged a, tests.charged b
                    where a.label = 'key' and b.label = 'key_again'$$,
                  $$values (true, 3::numeric)$$,
                  'a retry with the key returns the first debit and its whole charge, the pool''s share included');
SELECT is((select available from credits.balances where account_id = 'team'), 90::numeric,
          'the retry took nothing more from the pool');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
