-- get_balance (SPEC §2 Accounts and balances, §3 roles): one row per credit
-- type of the catalog, even one never granted (zeros, no buckets); available,
-- held, granted and used this period, the period, next_reset_at (the period's
-- end, or the next local midnight with a daily allowance), the plan, whether
-- it is unlimited, and the remainder per grant source (buckets). Unknown
-- account PT404; a user reads only her own balance (42501 naming the other),
-- the auditor any.

BEGIN;
SELECT plan(13);
SELECT tests.catalog();
-- A plan with a daily allowance, for next_reset_at.
SELECT code FROM credits.upsert_plan('drip', daily_allowance => '{"credits": 2}');
SELECT set_plan_feature::text FROM credits.set_plan_feature('drip', 'roast');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-01-31 10:00+00');
SELECT tests.open(a) FROM unnest(array['alice', 'bob']) a;
SELECT account_id FROM credits.open_account('pia', 'pro');
SELECT account_id FROM credits.open_account('tess', 'team');
SELECT account_id FROM credits.open_account('dana', 'drip', timezone => 'Europe/Paris');
SELECT tests.travel('2026-01-31 11:00+00');
SELECT (credits.deduct_credits('bob', 'roast')).ok::text FROM generate_series(1, 2);

-- get_balance
SELECT results_eq(
  $$select credit_type from credits.get_balance('pia')$$,
  $$values ('analysis'::text), ('credits'::text)$$,
  'get_balance returns one row per credit type of the catalog, even one never granted');
SELECT results_eq(
  $$select ok, charged from credits.deduct_credits('pia', 'roast')
    union all select ok, charged from credits.deduct_credits('pia', 'premium')$$,
  $$values (true, 1::numeric), (true, 2::numeric)$$,
  'pia spends 1 on roast and 2 on premium (pro''s override)');
SELECT results_eq(
  $$select available, held, granted_this_period, used_this_period, period_start, period_end, next_reset_at,
           plan, unlimited, buckets
    from credits.get_balance('pia') where credit_type = 'credits'$$,
  $$values (97::numeric, 0::numeric, 100::numeric, 3::numeric, '2026-01-31 10:00+00'::timestamptz,
            '2026-02-28 10:00+00'::timestamptz, '2026-02-28 10:00+00'::timestamptz, 'pro'::text, false,
            '{"monthly": 97}'::jsonb)$$,
  'get_balance of credits: available, held, granted and used this period, period, next reset, plan, buckets');
SELECT results_eq(
  $$select available, held, granted_this_period, used_this_period, plan, buckets
    from credits.get_balance('pia') where credit_type = 'analysis'$$,
  $$values (0::numeric, 0::numeric, 0::numeric, 0::numeric, 'pro'::text, '{}'::jsonb)$$,
  'get_balance of a credit type never granted: zeros and no buckets');
SELECT grant_id::text FROM credits.purchase_credits('pia', 10, 'pay_pia_1');
SELECT results_eq(
  $$select available, buckets from credits.get_balance('pia') where credit_type = 'credits'$$,
  $$values (107::numeric, '{"monthly": 97, "purchase": 10}'::jsonb)$$,
  'buckets show the remainder per source');
SELECT results_eq(
  $$select plan, unlimited from credits.get_balance('tess') where credit_type = 'credits'$$,
  $$values ('team'::text, true)$$,
  'get_balance reports an unlimited plan');
SELECT is((select next_reset_at from credits.get_balance('dana') where credit_type = 'credits'),
          '2026-01-31 23:00+00'::timestamptz,
          'with a daily allowance, next_reset_at is the next local midnight (Paris: 23:00 UTC)');
SELECT throws_ok($$select * from credits.get_balance('ghost')$$, 'PT404', 'unknown account ghost',
                 'get_balance refuses an unknown account (PT404)');

-- as user alice ---------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT is((select count(*)::int from credits.get_balance('alice')), 2, 'alice reads her own balance');
SELECT throws_ok($$select * from credits.get_balance('bob')$$, '42501', 'caller may not act on account bob',
                 'alice may not read bob''s balance');

-- as auditor ------------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT is((select available from credits.get_balance('bob') where credit_type = 'credits'), 4::numeric,
          'a credits_auditor reads any account''s balance');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select source, amount, starts_at, expires_at from credits_private.grants where account_id = 'pia' order by grant_id$$,
  $$values ('monthly'::text, 100::numeric, '2026-01-31 10:00+00'::timestamptz, '2026-02-28 10:00+00'::timestamptz),
           ('purchase', 10, '2026-01-31 11:00+00', null)$$,
  'pro''s monthly allowance is a grant that ends with the first period');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
