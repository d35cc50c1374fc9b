-- A member's cap counts in the pool's period and resets with it, lazily:
-- the member's first debit of the new period settles the pool (its new
-- monthly allowance) and finds its use at zero. member_cap_reached for the
-- member, and the pool's own threshold_crossed, depleted and recovered,
-- each once per crossing.

BEGIN;
SELECT plan(9);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT '' FROM credits.upsert_plan('seat');
SELECT '' FROM credits.set_plan_feature('seat', 'roast');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('team', 'pro');
SELECT tests.open(a, 'seat') FROM unnest(array['ann', 'bob']) a;
SELECT '' FROM credits.add_pool_member('team', 'ann', '{"credits": 5}');
SELECT '' FROM credits.add_pool_member('team', 'bob');

SELECT '' FROM credits.deduct_credits('ann', 'roast', amount => 3);
SELECT '' FROM credits.deduct_credits('ann', 'roast', amount => 2);
SELECT '' FROM credits.deduct_credits('ann', 'roast');
SELECT '' FROM credits.deduct_credits('ann', 'roast');
SELECT results_eq($$select payload from credits.events where account_id = 'ann' and kind = 'member_cap_reached'$$,
                  $$values ('{"cap": 5.000000, "used": 5.000000, "pool_id": "team"}'::jsonb)$$,
                  'ann reaching her cap is one member_cap_reached, however often she is refused after');

SELECT '' FROM credits.deduct_credits('bob', 'roast', amount => 75);
SELECT '' FROM credits.deduct_credits('bob', 'roast', amount => 1);
SELECT '' FROM credits.deduct_credits('bob', 'roast', amount => 19);
SELECT results_eq($$select kind, (payload ->> 'threshold')::integer from credits.events
                    where account_id = 'team' and kind <> 'balance_changed' order by event_id$$,
                  $$values ('threshold_crossed'::text, 80), ('threshold_crossed', 90), ('threshold_crossed', 100),
                           ('depleted', null::integer)$$,
                  'the pool''s 80 %, 90 % and 100 % of its period''s credits, and its depletion, once each');
SELECT '' FROM credits.grant_credits('team', 5, 'promo');
SELECT '' FROM credits.grant_credits('team', 5, 'promo');
SELECT is((select count(*)::integer from credits.events where account_id = 'team' and kind = 'recovered'), 1,
          'the pool recovers once');

-- a month later ------------------------------------------------------------------
SELECT tests.travel('2026-04-11 12:00+00');
SELECT results_eq($$select pool_available, pool_cap_remaining from credits.get_balance('ann')
                    where credit_type = 'credits'$$,
                  $$values (5::numeric, 5::numeric)$$,
                  'in the pool''s next period ann''s cap is whole again, before anything is settled');
INSERT INTO tests.charged SELECT 'ann_april', * FROM credits.deduct_credits('ann', 'roast', amount => 5);
SELECT is((select ok from tests.charged where label = 'ann_april'), true, 'ann may take her 5 again');
SELECT results_eq($$select period_start, used_this_period from credits.get_pool('team') where member_id = 'ann'$$,
                  $$values ('2026-04-10 12:00+00'::timestamptz, '{"credits": 5.000000}'::jsonb)$$,
                  'her use counts in the pool''s new period');
SELECT is((select available from credits.balances where account_id = 'team'), 105::numeric,
          'ann''s debit opened the pool''s period: its new allowance of 100 and the promos, less her 5');
SELECT is((select count(*)::integer from credits.events where account_id = 'ann' and kind = 'member_cap_reached'), 2,
          'reaching the cap in the new period is a new crossing');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
