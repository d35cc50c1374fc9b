-- The daily job's grants recover balances in overdraft (issue 15's events
-- through the balance trigger's set-based path: one statement moves many
-- rows, and each row's overdraft limit decides recovered). Two accounts on
-- a plan with a daily allowance of 5 and an overdraft of 10 each spend 15
-- on Mar 10 (today's daily grant, issued by the debit, and 10 of debt:
-- available -10, depleted at the limit); the job of Mar 11 grants 5 to
-- both in one statement, which repays half the debt: available -5, above
-- the limit, so each is recovered. Read without the limit, -5 would still
-- be at or below zero and nothing would be recovered.

BEGIN;
SELECT plan(4);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('odd', daily_allowance => '{"credits": 5}', overdraft => '{"credits": 10}');
SELECT '' FROM credits.set_plan_feature('odd', 'roast');
SELECT tests.act_as('credits_service');
SELECT tests.open('odd_a', 'odd');
SELECT tests.open('odd_b', 'odd');
SELECT results_eq($$select d.ok, d.available from unnest(array['odd_a', 'odd_b']) a,
                    credits.deduct_credits(a, 'roast', amount => 15) d$$,
                  $$values (true, -10::numeric), (true, -10::numeric)$$,
                  'each spends 15 of its daily 5 and its overdraft of 10: available -10');
SELECT is(array(select k from unnest(tests.kinds('odd_a')) k where k in ('depleted', 'recovered')),
          '{depleted}'::text[], 'at the limit: depleted');
SELECT tests.travel('2026-03-11 12:00+00');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 2,
          'the job grants both accounts in one statement');
SELECT results_eq($$select a, array(select k from unnest(tests.kinds(a)) k where k in ('depleted', 'recovered'))
                    from unnest(array['odd_a', 'odd_b']) a order by a$$,
                  $$values ('odd_a'::text, '{depleted,recovered}'::text[]), ('odd_b', '{depleted,recovered}')$$,
                  'each is at -5, above its limit: recovered');

SELECT * FROM finish();
ROLLBACK;
