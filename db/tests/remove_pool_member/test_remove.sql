-- remove_pool_member: the member draws on the pool no more; what it used of
-- its cap this period is kept, so leaving and joining again does not reset
-- it. Errors name the account and the pool. Admin and service only.

BEGIN;
SELECT plan(5);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('team', 'pro');
SELECT tests.open('ann', 'free');
SELECT '' FROM credits.add_pool_member('team', 'ann', '{"credits": 8}');
SELECT '' FROM credits.deduct_credits('ann', 'roast', amount => 10);  -- 6 her own, 4 the pool's
SELECT results_eq($$select pool_id, member_id, caps from credits.remove_pool_member('team', 'ann')$$,
                  $$values ('team'::text, 'ann'::text, '{"credits": 8.000000}'::jsonb)$$,
                  'it returns the membership as it was');
SELECT is((select reason from credits.deduct_credits('ann', 'roast')), 'insufficient_credits',
          'removed, ann draws on the pool no more');
SELECT throws_ok($$select * from credits.remove_pool_member('team', 'ann')$$, 'PT404',
                 'account ann is not a member of pool team', 'removing her twice is PT404');
SELECT '' FROM credits.add_pool_member('team', 'ann', '{"credits": 8}');
SELECT results_eq($$select pool_cap_remaining from credits.get_balance('ann') where credit_type = 'credits'$$,
                  $$values (4::numeric)$$, 'joining again in the period, her use of the cap is still counted');

-- as admin -----------------------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT results_eq($$select member_id from credits.remove_pool_member('team', 'ann')$$, $$values ('ann'::text)$$,
                  'an admin may remove a member');

SELECT * FROM finish();
ROLLBACK;
