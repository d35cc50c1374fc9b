-- Pools per actor (docs/contract.md, Teams; docs/security.md): a member
-- draws on its pool through its own calls only, and sees its own slice; a
-- member whose JWT claims name the pool in pool_admin sees every member's
-- slice through get_pool; nobody else sees the pool. Attacks: a member
-- spending another pool, a member raising its own cap, a removed member.

BEGIN;
SELECT plan(20);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT '' FROM credits.upsert_plan('seat');
SELECT '' FROM credits.set_plan_feature('seat', 'roast');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a, 'pro') FROM unnest(array['team', 'other_team']) a;
SELECT tests.open(a, 'seat') FROM unnest(array['ann', 'bob', 'carol', 'dan']) a;
SELECT '' FROM credits.add_pool_member('team', 'ann', '{"credits": 5}');
SELECT '' FROM credits.add_pool_member('team', 'bob');
SELECT '' FROM credits.add_pool_member('other_team', 'dan', '{"credits": 1}');

-- as user ann (a member) ---------------------------------------------------------
SELECT tests.act_as('credits_user', 'ann');
SELECT is((select ok from credits.deduct_credits('ann', 'roast')), true, 'ann''s own debit draws on her pool');
SELECT results_eq($$select pool_available, pool_cap_remaining from credits.get_balance('ann')
                    where credit_type = 'credits'$$,
                  $$values (4::numeric, 4::numeric)$$,
                  'ann''s get_balance shows her slice: what she may still draw, what is left of her cap');
SELECT throws_ok($$select * from credits.deduct_credits('team', 'roast')$$, '42501', 'caller may not act on account team',
                 'ann may not spend the pool directly (42501)');
SELECT throws_ok($$select * from credits.get_balance('team')$$, '42501', 'caller may not act on account team',
                 'ann may not read the pool''s balance (42501)');
SELECT throws_ok($$select * from credits.get_history('team')$$, '42501', 'caller may not act on account team',
                 'ann may not read the pool''s history (42501)');
SELECT is_empty($$select from credits.ledger where account_id = 'team'
                  union all select from credits.balances where account_id = 'team'
                  union all select from credits.accounts where account_id = 'team'
                  union all select from credits.events where account_id = 'team'$$,
                'through the views ann sees none of the pool''s rows');
SELECT results_eq($$select member_id, used_this_period from credits.get_pool('team')$$,
                  $$values ('ann'::text, '{"credits": 1.000000}'::jsonb)$$,
                  'get_pool shows ann her own slice only');
SELECT results_eq($$select member_id from credits.pool_members$$, $$values ('ann'::text)$$,
                  'credits.pool_members shows ann her own membership');
SELECT throws_ok($$select * from credits.set_member_caps('team', 'ann', '{"credits": 500}')$$, '42501',
                 'permission denied for function set_member_caps', 'ann may not raise her own cap (42501)');
SELECT throws_ok($$select * from credits.add_pool_member('other_team', 'ann')$$, '42501',
                 'permission denied for function add_pool_member', 'ann may not join a pool (42501)');

-- as user ann, pool_admin of team ------------------------------------------------
SELECT '' FROM set_config('request.jwt.claims',
                          '{"sub": "ann", "role": "credits_user", "pool_admin": ["team"]}', true);
SELECT results_eq($$select member_id, caps from credits.get_pool('team')$$,
                  $$values ('ann'::text, '{"credits": 5.000000}'::jsonb), ('bob', '{}')$$,
                  'with pool_admin naming team, ann sees every member''s slice');
SELECT is_empty($$select from credits.ledger where account_id = 'team'$$,
                'pool_admin shows her no more of the pool''s rows through the views');

-- as user carol (no member) ------------------------------------------------------
SELECT '' FROM set_config('request.jwt.claims',
                          '{"sub": "carol", "role": "credits_user", "pool_admin": ["team"]}', true);
SELECT throws_ok($$select * from credits.get_pool('team')$$, '42501', 'caller may not read pool team',
                 'carol, in no pool, may not read it even with a pool_admin claim (42501)');
SELECT is((select reason from credits.deduct_credits('carol', 'roast')), 'insufficient_credits',
          'carol''s debit draws on no pool');

-- as user dan (a member of another pool) -----------------------------------------
SELECT tests.act_as('credits_user', 'dan');
SELECT is((select ok from credits.deduct_credits('dan', 'roast')), true, 'dan draws on his own pool');
SELECT is((select reason from credits.deduct_credits('dan', 'roast')), 'insufficient_credits',
          'past his cap of 1 dan is refused: team''s credits are not his to spend');
SELECT throws_ok($$select * from credits.get_pool('team')$$, '42501', 'caller may not read pool team',
                 'dan may not read team (42501)');

-- as service: bob is removed -----------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT '' FROM credits.remove_pool_member('team', 'bob');
-- as user bob (removed) ----------------------------------------------------------
SELECT tests.act_as('credits_user', 'bob');
SELECT is((select reason from credits.deduct_credits('bob', 'roast')), 'insufficient_credits',
          'bob, removed, draws on the pool no more');
SELECT results_eq($$select pool_available, pool_cap_remaining from credits.get_balance('bob')
                    where credit_type = 'credits'$$,
                  $$values (null::numeric, null::numeric)$$,
                  'bob''s get_balance shows no pool');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT results_eq($$select account_id, available from credits.balances where account_id in ('team', 'other_team') order by 1$$,
                  $$values ('other_team'::text, 99::numeric), ('team', 99)$$,
                  'each pool paid only its own member''s one debit');

SELECT * FROM finish();
ROLLBACK;
