-- A member's hold (reserve_credits) holds its own credits first, then its
-- pool's, within its cap: the pool's share is a hold of the pool naming the
-- member, lapsing with the member's hold and counting against the cap while
-- it lives. capture_hold charges the member's part first, then the share;
-- release_hold and lapsing give both back. The share cannot be ended alone.

BEGIN;
SELECT plan(12);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('team', 'pro');
SELECT tests.open('bob');
SELECT '' FROM credits.add_pool_member('team', 'bob', '{"credits": 5}');
INSERT INTO tests.reserved SELECT 'h9', * FROM credits.reserve_credits('bob', 'roast', amount => 9);
SELECT results_eq($$select ok, held from tests.reserved where label = 'h9'$$, $$values (true, 9::numeric)$$,
                  'bob holds 9: his own 6 and 3 of the pool''s');
SELECT results_eq($$select h.account_id, h.amount, h.member_id, h.expires_at = m.expires_at
                    from credits.holds m join credits.holds h on h.hold_id = m.pool_hold_id
                    where m.hold_id = tests.id('h9')$$,
                  $$values ('team'::text, 3::numeric, 'bob'::text, true)$$,
                  'the pool''s share is a hold of the pool naming bob, lapsing with his');
SELECT results_eq($$select held, pool_available, pool_cap_remaining from credits.get_balance('bob')
                    where credit_type = 'credits'$$,
                  $$values (6::numeric, 2::numeric, 2::numeric)$$,
                  'the live share counts against his cap: 2 of 5 left');
SELECT throws_ok(format('select * from credits.capture_hold(%s)',
                        (select pool_hold_id from credits.holds where hold_id = tests.id('h9'))), 'PT422',
                 format('hold %s is pool team''s share of a hold of member bob',
                        (select pool_hold_id from credits.holds where hold_id = tests.id('h9'))),
                 'the share cannot be captured alone (PT422)');
INSERT INTO tests.charged SELECT 'c8', * FROM credits.capture_hold(tests.id('h9'), 8);
SELECT results_eq($$select ok, charged from tests.charged where label = 'c8'$$, $$values (true, 8::numeric)$$,
                  'capturing 8 charges the whole 8');
SELECT results_eq($$select l.account_id, l.kind, l.amount, l.member_id from credits.ledger l
                    where l.transaction_id in (tests.tx('c8'), (select pool_transaction_id from credits.ledger
                                                                where transaction_id = tests.tx('c8')))
                    order by l.transaction_id$$,
                  $$values ('team'::text, 'capture'::text, -2::numeric, 'bob'::text), ('bob', 'capture', -6, null)$$,
                  'his own 6 first, then 2 of the pool''s share (its capture row names bob)');
SELECT results_eq($$select charged from credits.capture_hold(tests.id('h9'), 8)$$, $$values (8::numeric)$$,
                  'capturing again with the same amount returns the whole first charge');
SELECT results_eq($$select used_this_period from credits.get_pool('team')$$, $$values ('{"credits": 2.000000}'::jsonb)$$,
                  'of the share only what was charged still counts against the cap');

INSERT INTO tests.reserved SELECT 'h3', * FROM credits.reserve_credits('bob', 'roast', amount => 3);
SELECT results_eq($$select released from credits.release_hold(tests.id('h3'))$$, $$values (3::numeric)$$,
                  'releasing a hold the pool holds whole gives back the share');
INSERT INTO tests.reserved SELECT 'h_lapse', * FROM credits.reserve_credits('bob', 'roast', amount => 3, ttl => '5 minutes');
SELECT tests.travel('2026-03-10 12:10+00');
SELECT results_eq($$select pool_cap_remaining from credits.get_balance('bob') where credit_type = 'credits'$$,
                  $$values (3::numeric)$$, 'a lapsed share holds nothing of the cap, before it is settled');
SELECT is((select holds_released from credits.expire_holds()), 2, 'the sweep settles the hold and its share');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
