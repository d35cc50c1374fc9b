-- set_member_caps replaces a member's caps; what it used this period stays
-- used, so a cap below that leaves nothing to take; {} lifts every cap.
-- Errors name the account and the pool. Admin and service only.

BEGIN;
SELECT plan(6);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('team', 'pro');
SELECT tests.open(a) FROM unnest(array['ann', 'bob']) a;
SELECT '' FROM credits.add_pool_member('team', 'ann', '{"credits": 50}');
SELECT '' FROM credits.deduct_credits('ann', 'roast', amount => 10);  -- 6 her own, 4 the pool's
SELECT results_eq($$select caps from credits.set_member_caps('team', 'ann', '{"credits": 3}')$$,
                  $$values ('{"credits": 3.000000}'::jsonb)$$, 'the cap is lowered to 3');
SELECT results_eq($$select pool_available, pool_cap_remaining from credits.get_balance('ann') where credit_type = 'credits'$$,
                  $$values (0::numeric, 0::numeric)$$, 'she used 4 already: nothing is left to take');
SELECT '' FROM credits.set_member_caps('team', 'ann', '{}');
SELECT results_eq($$select pool_available, pool_cap_remaining from credits.get_balance('ann') where credit_type = 'credits'$$,
                  $$values (96::numeric, null::numeric)$$, 'no cap: all the pool has is hers to draw');
SELECT throws_ok($$select * from credits.set_member_caps('team', 'bob', '{}')$$, 'PT404',
                 'account bob is not a member of pool team', 'bob is no member: PT404');
SELECT throws_ok($$select * from credits.set_member_caps('team', 'ann', '{"credits": 1e20}')$$, 'PT422',
                 'the cap for credit type credits is too large: 100000000000000000000', 'a cap too large is PT422');

-- as user ann --------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'ann');
SELECT throws_ok($$select * from credits.set_member_caps('team', 'ann', '{}')$$, '42501',
                 'permission denied for function set_member_caps', 'a member may not change caps (42501)');

SELECT * FROM finish();
ROLLBACK;
