-- Events of a balance with an overdraft (issue 15; docs/contract.md,
-- Billing depth): `depleted` when it reaches its limit (not at zero while
-- an overdraft remains), `recovered` when a grant or refund takes it back
-- above; a plan without one is depleted at zero as before. A plan whose
-- limit is lowered while in debt refuses debits until the balance is above
-- the new limit again: the change itself emits nothing, the grant that
-- takes it above the new limit emits `recovered` (a second one).

BEGIN;
SELECT plan(8);
SELECT tests.catalog();
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('od', signup_grant => '{"credits": 10}', overdraft => '{"credits": 50}');
SELECT '' FROM credits.set_plan_feature('od', 'roast');
SELECT tests.act_as('credits_service');
SELECT tests.open('ev_a', 'od');
SELECT tests.open('ev_f');
SELECT tests.mark();
SELECT '' FROM credits.deduct_credits('ev_a', 'roast', amount => 10);
SELECT '' FROM credits.deduct_credits('ev_a', 'roast', amount => 20);
SELECT is(array(select k from unnest(tests.kinds('ev_a')) k where k in ('depleted', 'recovered')), '{}'::text[],
          'at 0 and at -20, with 30 of overdraft left: not depleted');
SELECT '' FROM credits.deduct_credits('ev_a', 'roast', amount => 30);
SELECT results_eq($$select kind, (payload ->> 'available')::numeric from credits.events
                    where account_id = 'ev_a' and kind in ('depleted', 'recovered')$$,
                  $$values ('depleted'::text, -50::numeric)$$, 'at the limit (-50): depleted, available -50');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.grant_credits('ev_a', 5, reason => 'a little');
SELECT tests.act_as('credits_service');
SELECT is(array(select k from unnest(tests.kinds('ev_a')) k where k in ('depleted', 'recovered')),
          '{depleted,recovered}'::text[], 'a grant takes it above the limit: recovered');

SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('od', signup_grant => '{"credits": 10}', overdraft => '{"credits": 20}');
SELECT tests.act_as('credits_service');
SELECT results_eq($$select ok, reason, available from credits.deduct_credits('ev_a', 'roast', amount => 1)$$,
                  $$values (false, 'insufficient_credits'::text, -45::numeric)$$,
                  'the limit lowered to 20 while 45 in debt: the debt stays, debits are refused');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.grant_credits('ev_a', 30, reason => 'more');
SELECT tests.act_as('credits_service');
SELECT results_eq($$select ok, available from credits.deduct_credits('ev_a', 'roast', amount => 5)$$,
                  $$values (true, -20::numeric)$$, 'above the new limit (-15), a debit may go down to it again');
SELECT is(array(select k from unnest(tests.kinds('ev_a')) k where k in ('depleted', 'recovered')),
          '{depleted,recovered,recovered,depleted}'::text[],
          'lowering the limit emits nothing; the grant above it recovered it again, depleted at the new limit');

SELECT '' FROM credits.deduct_credits('ev_f', 'roast', amount => 6);
SELECT is(array(select k from unnest(tests.kinds('ev_f')) k where k in ('depleted', 'recovered')), '{depleted}'::text[],
          'a plan without an overdraft: depleted at zero');
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation where account_id like 'ev\_%'$$, 'reconciliation');

SELECT * FROM finish();
ROLLBACK;
