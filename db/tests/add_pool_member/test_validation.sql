-- add_pool_member refuses bad input by name and changes nothing: caps that
-- are not an object of credit type -> a number of at least 0 (null: no
-- cap), unknown accounts and credit types, an account its own member,
-- nested pools (a pool as member, a member as pool), a member of another
-- pool; adding again with the same caps changes nothing. Admin and
-- service only.

BEGIN;
SELECT plan(16);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['team', 'other', 'ann', 'bob']) a;
SELECT results_eq($$select pool_id, member_id, caps from credits.add_pool_member('team', 'ann',
                                                                                 '{"credits": 50, "analysis": null}')$$,
                  $$values ('team'::text, 'ann'::text, '{"credits": 50.000000}'::jsonb)$$,
                  'a member with a cap; a null cap is no cap and is not stored');
SELECT results_eq($$select caps from credits.add_pool_member('team', 'ann', '{"credits": 50}')$$,
                  $$values ('{"credits": 50.000000}'::jsonb)$$, 'adding her again with the same caps changes nothing');
SELECT throws_ok($$select * from credits.add_pool_member('team', 'ann', '{"credits": 60}')$$, 'PT409',
                 'account ann is a member of pool team with caps {"credits": 50.000000}, not {"credits": 60.000000}',
                 'adding her with other caps is PT409 (set_member_caps changes caps)');
SELECT throws_ok($$select * from credits.add_pool_member('other', 'ann')$$, 'PT409',
                 'account ann is already a member of pool team', 'a member of another pool is PT409');
SELECT throws_ok($$select * from credits.add_pool_member('team', 'team')$$, 'PT422',
                 'account team cannot be a member of its own pool', 'a pool is not its own member (PT422)');
SELECT throws_ok($$select * from credits.add_pool_member('other', 'team')$$, 'PT422',
                 'account team is a pool and cannot be a member of pool other: pools do not nest',
                 'a pool may not join a pool (PT422)');
SELECT throws_ok($$select * from credits.add_pool_member('ann', 'bob')$$, 'PT422',
                 'account ann is a member of pool team and cannot be a pool: pools do not nest',
                 'a member may not become a pool (PT422)');
SELECT throws_ok($$select * from credits.add_pool_member('team', 'nobody')$$, 'PT404', 'unknown account nobody',
                 'an unknown member is PT404 naming it');
SELECT throws_ok($$select * from credits.add_pool_member('nowhere', 'bob')$$, 'PT404', 'unknown account nowhere',
                 'an unknown pool is PT404 naming it');
SELECT throws_ok($$select * from credits.add_pool_member('team', 'bob', '{"credits": -1}')$$, 'PT422',
                 'the cap for credit type credits must be above 0, got -1', 'a negative cap is PT422 naming it');
SELECT throws_ok($$select * from credits.add_pool_member('team', 'bob', '{"credits": "50"}')$$, 'PT422',
                 'the cap for credit type credits must be a number, got "50"', 'a cap that is a string is PT422');
SELECT throws_ok($$select * from credits.add_pool_member('team', 'bob', '{"credits": 0.0000001}')$$, 'PT422',
                 'the cap for credit type credits has more than 6 decimal places: 0.0000001',
                 'a cap finer than 6 decimal places is PT422');
SELECT throws_ok($$select * from credits.add_pool_member('team', 'bob', '{"gold": 5}')$$, 'PT404',
                 'unknown credit type gold', 'a cap of an unknown credit type is PT404 naming it');
SELECT throws_ok($$select * from credits.add_pool_member('team', 'bob', '[50]')$$, 'PT422',
                 'caps must be a JSON object of credit type to cap, got [50]', 'caps that are no object are PT422');
SELECT is((select count(*)::integer from credits.pool_members), 1, 'nothing refused was stored');

-- as auditor ---------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.add_pool_member('team', 'bob')$$, '42501',
                 'permission denied for function add_pool_member', 'the auditor may not add members (42501)');

SELECT * FROM finish();
ROLLBACK;
