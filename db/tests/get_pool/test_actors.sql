-- get_pool per actor: service and the auditor see every member of a pool,
-- with caps, used this period and what is left of each cap; an account
-- that is no pool is PT404; a credits_user sees only a pool it is a member
-- of (its own row; every row with pool_admin naming the pool).

BEGIN;
SELECT plan(6);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('team', 'pro');
SELECT tests.open(a, 'free') FROM unnest(array['ann', 'bob']) a;
SELECT '' FROM credits.add_pool_member('team', 'ann', '{"credits": 10}');
SELECT '' FROM credits.add_pool_member('team', 'bob');
SELECT '' FROM credits.deduct_credits('ann', 'roast', amount => 9);
SELECT '' FROM credits.deduct_credits('bob', 'roast', amount => 7);
SELECT results_eq($$select member_id, caps, used_this_period, cap_remaining, period_start, period_end
                    from credits.get_pool('team')$$,
                  $$values ('ann'::text, '{"credits": 10.000000}'::jsonb, '{"credits": 3.000000}'::jsonb,
                            '{"credits": 7.000000}'::jsonb, '2026-03-10 12:00+00'::timestamptz,
                            '2026-04-10 12:00+00'::timestamptz),
                           ('bob', '{}', '{"credits": 1.000000}', '{}', '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$,
                  'service sees every member: caps, what each took from the pool, what is left of each cap');
SELECT throws_ok($$select * from credits.get_pool('ann')$$, 'PT404', 'ann is no pool',
                 'a member is no pool: PT404');
SELECT throws_ok($$select * from credits.get_pool('nobody')$$, 'PT404', 'nobody is no pool',
                 'an unknown account is PT404');

-- as auditor ---------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT is((select count(*)::integer from credits.get_pool('team')), 2, 'the auditor sees every member');

-- as user bob --------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'bob');
SELECT results_eq($$select member_id, used_this_period from credits.get_pool('team')$$,
                  $$values ('bob'::text, '{"credits": 1.000000}'::jsonb)$$, 'bob sees his own row');
SELECT throws_ok($$select * from credits.get_pool('other')$$, '42501', 'caller may not read pool other',
                 'bob may not read a pool he is not in, even one that does not exist (42501)');

SELECT * FROM finish();
ROLLBACK;
