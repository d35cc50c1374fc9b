-- refund_transaction of a member's debit that its pool paid in part: the
-- pool's share goes back first (it was drawn last), to the pool's grant and
-- to the member's cap; then the member's own. The pool's row cannot be
-- refunded alone; never more than the whole charge.

BEGIN;
SELECT plan(8);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('team', 'pro');
SELECT tests.open('bob');
SELECT '' FROM credits.add_pool_member('team', 'bob', '{"credits": 10}');
-- bob's own 6 signup credits, then 4 of the pool's.
INSERT INTO tests.charged SELECT 'bob', * FROM credits.deduct_credits('bob', 'roast', amount => 10);
INSERT INTO tests.ids SELECT 'pool_row', pool_transaction_id FROM credits.ledger WHERE transaction_id = tests.tx('bob');

-- as admin -----------------------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT throws_ok(format('select * from credits.refund_transaction(%s, %L)', tests.id('pool_row'), 'oops'), 'PT422',
                 format('transaction %s is pool team''s share of a debit of member bob', tests.id('pool_row')),
                 'the pool''s share alone cannot be refunded (PT422 naming the member)');
INSERT INTO tests.ids SELECT 'r1', refund_id FROM credits.refund_transaction(tests.tx('bob'), 'half', 3);
SELECT results_eq($$select account_id, amount, member_id, refund_of from credits.ledger
                    where transaction_id = tests.id('r1')$$,
                  format('values (%L::text, 3::numeric, %L::text, %s::bigint)', 'team', 'bob', tests.id('pool_row')),
                  'a partial refund goes to the pool first: its refund row names bob');
SELECT results_eq($$select available, pool_available, pool_cap_remaining from credits.get_balance('bob')
                    where credit_type = 'credits'$$,
                  $$values (0::numeric, 9::numeric, 9::numeric)$$,
                  'bob''s cap gets the 3 back: of the pool''s 4 only 1 still counts, 9 of his 10 are left');
INSERT INTO tests.ids SELECT 'r2', refund_id FROM credits.refund_transaction(tests.tx('bob'), 'the rest');
SELECT results_eq($$select account_id, amount from credits.ledger
                    where transaction_id > tests.id('r1') and kind = 'refund' order by transaction_id$$,
                  $$values ('team'::text, 1::numeric), ('bob', 6)$$,
                  'the rest: the pool''s last 1, then bob''s own 6');
SELECT is((select account_id from credits.ledger where transaction_id = tests.id('r2')), 'bob',
          'refund_id is the member''s refund row when the member got something back');
SELECT results_eq($$select account_id, available from credits.balances where account_id in ('bob', 'team') order by 1$$,
                  $$values ('bob'::text, 6::numeric), ('team', 100)$$,
                  'both balances are whole again');
SELECT throws_ok(format('select * from credits.refund_transaction(%s, %L)', tests.tx('bob'), 'again'), 'PT409',
                 format('cannot refund 0.000000 of transaction %s: 10.000000 was charged, 0.000000 is still refundable',
                        tests.tx('bob')),
                 'nothing more to refund: PT409 naming the whole charge');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
