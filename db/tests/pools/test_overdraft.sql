-- Pools and overdraft (issue 15; docs/decisions.md, "Overdraft"): a member
-- of a pool has no overdraft of its own, even on a plan with one: the pool
-- pays what its grants cannot, else the debit is refused; a pool's own
-- overdraft is for the pool's own debits, never its members' (a pool in
-- debt gives them nothing, and get_balance says 0).

BEGIN;
SELECT plan(5);
SELECT tests.catalog();
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('od', signup_grant => '{"credits": 10}', overdraft => '{"credits": 50}');
SELECT '' FROM credits.set_plan_feature('od', 'roast');
SELECT tests.act_as('credits_service');
SELECT tests.open(a, 'od') FROM unnest(array['po_pool', 'po_m']) a;
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.add_pool_member('po_pool', 'po_m', '{}');
SELECT tests.act_as('credits_service');

SELECT results_eq($$select ok, charged, available from credits.deduct_credits('po_m', 'roast', amount => 15)$$,
                  $$values (true, 15::numeric, 0::numeric)$$,
                  'a member short of its own: its 10, then 5 of the pool; its own overdraft is not used');
SELECT results_eq($$select ok, reason from credits.deduct_credits('po_m', 'roast', amount => 6)$$,
                  $$values (false, 'insufficient_credits'::text)$$,
                  'more than the pool has: refused, not taken into the member''s overdraft');
SELECT results_eq($$select ok, available from credits.deduct_credits('po_pool', 'roast', amount => 25)$$,
                  $$values (true, -20::numeric)$$, 'the pool''s own debit may use the pool''s overdraft');
SELECT results_eq($$select available, pool_available from credits.get_balance('po_m') where credit_type = 'credits'$$,
                  $$values (0::numeric, 0::numeric)$$, 'a pool in debt gives its member nothing: pool_available 0');
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation where account_id like 'po\_%'$$, 'reconciliation');

SELECT * FROM finish();
ROLLBACK;
