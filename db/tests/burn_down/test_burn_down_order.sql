-- The burn-down order of the grants a debit draws from (SPEC §1 grant and
-- burn-down order): default priorities (100 for every given source, 200 for
-- purchases, an explicit priority kept); lower priority first, then the
-- soonest end (never last), then the oldest; check_feature shows the draws a
-- debit would make, and a debit spanning grants records each draw, in order,
-- in its ledger row.

BEGIN;
SELECT plan(9);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['gina', 'carol', 'dave', 'erin']) a;

-- Default priorities: every source once on gina, plus an explicit priority.
SELECT count(*)::text FROM unnest(array['signup', 'daily', 'monthly', 'promo', 'admin', 'migration', 'refund',
                                        'purchase']) s,
  credits.grant_credits('gina', 1, s, reason => 'priority check');
SELECT grant_id::text FROM credits.grant_credits('gina', 1, 'promo', priority => 7);
SELECT grant_id::text FROM credits.purchase_credits('gina', 1, 'stripe:pi_gina');

-- Burn-down on carol: signup 6 (never ends), then a purchase of 10, a promo of
-- 3 ending in 7 days, a daily 2 ending in 12 hours, each a minute apart.
SELECT set_config('tw.carol_signup', grant_id::text, true) FROM credits.ledger where account_id = 'carol';
SELECT tests.travel('2026-03-10 12:01+00');
SELECT set_config('tw.carol_purchase', grant_id::text, true) FROM credits.purchase_credits('carol', 10, 'stripe:pi_carol');
SELECT tests.travel('2026-03-10 12:02+00');
SELECT set_config('tw.carol_promo', grant_id::text, true)
FROM credits.grant_credits('carol', 3, 'promo', expires_at => '2026-03-17 12:00+00');
SELECT tests.travel('2026-03-10 12:03+00');
SELECT set_config('tw.carol_daily', grant_id::text, true)
FROM credits.grant_credits('carol', 2, 'daily', expires_at => '2026-03-11 00:00+00');
SELECT results_eq(
  $$select (d ->> 'grant_id')::bigint, d ->> 'source', (d ->> 'amount')::numeric
    from credits.check_feature('carol', 'video', '{"seconds": 20}') c,
         jsonb_array_elements(c.draws) with ordinality as x (d, n) order by n$$,
  $$values (current_setting('tw.carol_daily')::bigint, 'daily'::text, 2::numeric),
           (current_setting('tw.carol_promo')::bigint, 'promo', 3),
           (current_setting('tw.carol_signup')::bigint, 'signup', 5)$$,
  'check_feature draws daily (ends in 12 h), then promo (7 days), then never-ending signup; purchase untouched');
SELECT results_eq(
  $$select ok, charged, available from credits.deduct_credits('carol', 'video', '{"seconds": 20}')$$,
  $$values (true, 10::numeric, 11::numeric)$$,
  'carol is charged 10 across three grants');
SELECT results_eq(
  $$select amount, balance_before, balance_after, draws from credits.ledger
    where account_id = 'carol' and kind = 'debit'$$,
  $$values (-10::numeric, 21::numeric, 11::numeric, jsonb_build_array(
             jsonb_build_object('grant_id', current_setting('tw.carol_daily')::bigint, 'amount', 2),
             jsonb_build_object('grant_id', current_setting('tw.carol_promo')::bigint, 'amount', 3),
             jsonb_build_object('grant_id', current_setting('tw.carol_signup')::bigint, 'amount', 5)))$$,
  'the debit''s ledger row records each of the three draws, in burn-down order');
SELECT set_config('tw.carol_debit2', transaction_id::text, true)
FROM credits.deduct_credits('carol', 'video', '{"seconds": 4}');
SELECT is((select draws from credits.ledger
           where account_id = 'carol' and transaction_id = current_setting('tw.carol_debit2')::bigint),
          jsonb_build_array(
            jsonb_build_object('grant_id', current_setting('tw.carol_signup')::bigint, 'amount', 1),
            jsonb_build_object('grant_id', current_setting('tw.carol_purchase')::bigint, 'amount', 1)),
          'purchased credits are drawn last, after the signup grant is used up');
SELECT is((select buckets from credits.get_balance('carol') where credit_type = 'credits'), '{"purchase": 9}'::jsonb,
          'only the purchase is left, 9 of it');

-- Priority overrides on dave: signup 6 (p100), a promo ending tomorrow at p150,
-- a purchase granted at p50.
SELECT set_config('tw.dave_signup', grant_id::text, true) FROM credits.ledger where account_id = 'dave';
SELECT set_config('tw.dave_promo', grant_id::text, true)
FROM credits.grant_credits('dave', 3, 'promo', expires_at => '2026-03-11 12:00+00', priority => 150);
SELECT set_config('tw.dave_purchase', grant_id::text, true)
FROM credits.grant_credits('dave', 5, 'purchase', priority => 50);
SELECT results_eq(
  $$select (d ->> 'grant_id')::bigint, (d ->> 'amount')::numeric
    from credits.check_feature('dave', 'video', '{"seconds": 24}') c,
         jsonb_array_elements(c.draws) with ordinality as x (d, n) order by n$$,
  $$values (current_setting('tw.dave_purchase')::bigint, 5::numeric),
           (current_setting('tw.dave_signup')::bigint, 6),
           (current_setting('tw.dave_promo')::bigint, 1)$$,
  'priority comes first: the p50 purchase, then p100 signup, then the p150 promo though it ends soonest');

-- Oldest first on erin: two never-ending p100 grants, signup (12:00) and migration (12:03).
SELECT set_config('tw.erin_signup', grant_id::text, true) FROM credits.ledger where account_id = 'erin';
SELECT set_config('tw.erin_migration', grant_id::text, true) FROM credits.grant_credits('erin', 4, 'migration');
SELECT results_eq(
  $$select (d ->> 'grant_id')::bigint, (d ->> 'amount')::numeric
    from credits.check_feature('erin', 'video', '{"seconds": 14}') c,
         jsonb_array_elements(c.draws) with ordinality as x (d, n) order by n$$,
  $$values (current_setting('tw.erin_signup')::bigint, 6::numeric),
           (current_setting('tw.erin_migration')::bigint, 1)$$,
  'with equal priority and no end, the oldest grant is drawn first');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT bag_eq(
  $$select source, priority from credits_private.grants where account_id = 'gina'$$,
  $$values ('signup'::text, 100), ('signup', 100), ('daily', 100), ('monthly', 100), ('promo', 100), ('admin', 100),
           ('migration', 100), ('refund', 100), ('purchase', 200), ('promo', 7), ('purchase', 200)$$,
  'default priorities: 100 for every given source, 200 for purchases; an explicit priority is kept');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
