-- The settled read (issue 13): get_balance and check_feature answer an
-- account whose stored state is settled from its stored rows, every other
-- account through the renewal helpers (credits_private._balance_rows,
-- credits_private._feature_check). Both give the same rows, to the text of
-- every value (scale included), for accounts in every state: settled with
-- debits and a purchase, a live hold, a hold lapsed and not settled, a
-- grant ended and not settled, a future-dated grant before and after its
-- start, in overdraft debt, suspended, demo, unlimited, a pool and its
-- member, a renewed period with its rollover grant, a period ended with a
-- rollover pending, a period ended with nobody calling, a daily grant due
-- and one issued; at three moments.

BEGIN;
SELECT plan(12);
SELECT tests.catalog();
SELECT '' FROM credits.upsert_plan('drip', daily_allowance => '{"credits": 2}');
SELECT '' FROM credits.upsert_plan('od', overdraft => '{"credits": 20}');
SELECT '' FROM credits.upsert_plan('roll', monthly_allowance => '{"credits": 10}',
                                     rollover => '{"credits": {"max": 4, "fraction": 0.5}}');
SELECT '' FROM unnest(array['drip', 'od', 'roll']) p, unnest(array['roast', 'video', 'analysis_run', 'premium']) f,
              credits.set_plan_feature(p, f);
CREATE TEMP TABLE reads (account_id text primary key) ON COMMIT DROP;
CREATE TEMP TABLE checks (feature text, units jsonb) ON COMMIT DROP;
INSERT INTO checks VALUES ('roast', '{}'), ('premium', '{}'), ('chapter', '{}'), ('analysis_run', '{}'),
                          ('video', '{"seconds": 8}'), ('video', '{"seconds": 400}');
GRANT ALL ON reads, checks TO public;

-- as service: accounts opened on 02-05, their period ends on 03-05 ------------------------
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-02-05 12:00+00');
SELECT tests.open(a, p) FROM (values ('ended', 'pro'), ('rolled', 'roll'), ('rollpend', 'roll')) v (a, p);
SELECT '' FROM unnest(array['ended', 'rolled', 'rollpend']) a, credits.deduct_credits(a, 'roast', amount => 3);

-- on 03-10 09:00: rolled renews (4 of its 7 unused roll over); the others open now ------------
SELECT tests.travel('2026-03-10 09:00+00');
SELECT '' FROM credits.deduct_credits('rolled', 'roast');
SELECT tests.open(a, p) FROM (values ('set', 'pro'), ('held', 'pro'), ('lapse', 'pro'), ('gone', 'pro'),
                                     ('fut', 'pro'), ('od', 'od'), ('pool', 'pro'), ('member', 'free'),
                                     ('susp', 'pro'), ('unl', 'team'), ('poor', 'free'), ('drip', 'drip'),
                                     ('drip2', 'drip')) v (a, p);
SELECT tests.open('demo', 'pro', is_demo => true);
SELECT '' FROM credits.deduct_credits('set', 'roast', amount => 12.345678);
SELECT '' FROM credits.purchase_credits('set', 10, 'pay_set_1');
SELECT '' FROM credits.grant_credits('set', 3, 'admin', credit_type => 'analysis', reason => 'a gift');
SELECT '' FROM credits.reserve_credits('held', 'roast', amount => 7.5, ttl => '1 day');
SELECT '' FROM credits.reserve_credits('lapse', 'roast', amount => 5, ttl => '15 minutes');
SELECT '' FROM credits.grant_credits('gone', 3.25, 'promo', expires_at => '2026-03-10 09:30+00');
SELECT '' FROM credits.grant_credits('fut', 4, 'promo', starts_at => '2026-03-10 09:30+00');
SELECT '' FROM credits.grant_credits('fut', 6, 'promo', starts_at => '2026-04-01 00:00+00');
SELECT '' FROM credits.grant_credits('od', 5, 'admin', reason => 'a gift');
SELECT '' FROM credits.deduct_credits('od', 'roast', amount => 12.5);
SELECT '' FROM credits.add_pool_member('pool', 'member', '{"credits": 8}');
SELECT '' FROM credits.deduct_credits('member', 'roast', amount => 9);
SELECT '' FROM credits.set_account_status('susp', 'suspended', 'chargeback');
SELECT '' FROM credits.deduct_credits('drip2', 'roast');  -- its daily grant of 03-10; drip has not called
SELECT '' FROM credits.deduct_credits('poor', 'roast', amount => 5.5);
INSERT INTO reads SELECT a.account_id FROM credits.accounts a;

-- the comparisons, as the owner of both paths ----------------------------------------------
SELECT tests.act_as_superuser();
CREATE FUNCTION pg_temp.balances_now() RETURNS TABLE (account_id text, via text, read text)
LANGUAGE sql AS $$
  select r.account_id, 'settled read', g::text from reads r cross join lateral credits.get_balance(r.account_id) g
  union all
  select r.account_id, 'renewal helpers', b::text
  from reads r join credits_private.accounts a using (account_id)
  cross join lateral credits_private._balance_rows(a, credits.now()) b
$$;
CREATE FUNCTION pg_temp.checks_now() RETURNS TABLE (account_id text, feature text, units jsonb, via text, read text)
LANGUAGE sql AS $$
  select r.account_id, c.feature, c.units, 'settled read', f::text
  from reads r cross join checks c cross join lateral credits.check_feature(r.account_id, c.feature, c.units) f
  union all
  select r.account_id, c.feature, c.units, 'renewal helpers', f::text
  from reads r cross join checks c join credits_private.accounts a using (account_id)
  cross join lateral credits_private._feature_check(a, c.feature, c.units, credits.now()) f
$$;
-- Both reads at `moment`, each against its renewal helpers, to the text.
CREATE FUNCTION pg_temp.reads_agree(moment text) RETURNS SETOF text
LANGUAGE sql AS $$
  select results_eq(
    $q$select account_id, read from pg_temp.balances_now() where via = 'settled read' order by 1, 2$q$,
    $q$select account_id, read from pg_temp.balances_now() where via = 'renewal helpers' order by 1, 2$q$,
    moment || ': get_balance = the renewal helpers'' rows for every account, to the text')
  union all
  select results_eq(
    $q$select account_id, feature, units, read from pg_temp.checks_now() where via = 'settled read'
       order by 1, 2, 3, 4$q$,
    $q$select account_id, feature, units, read from pg_temp.checks_now() where via = 'renewal helpers'
       order by 1, 2, 3, 4$q$,
    moment || ': check_feature = the renewal helpers'' answer for every account and call, to the text')
$$;
-- What the settled read takes: the period runs, the day's daily grants are
-- settled, no pool (get_balance); and a settled balance row (check_feature).
CREATE FUNCTION pg_temp.settled() RETURNS TABLE (account_id text, balance_settled boolean)
LANGUAGE sql AS $$
  select a.account_id, bool_and(b.settle_at is null or b.settle_at > credits.now())
  from credits_private.accounts a join reads using (account_id)
  join credits_private.plans p on p.code = a.plan
  left join credits_private.balances b on b.account_id = a.account_id
  where a.period_end > credits.now() and (a.daily_until > credits.now() or p.daily_allowance = '{}')
    and not exists (select from credits_private.pool_members m where m.account_id = a.account_id)
  group by a.account_id
$$;

-- on 03-10 10:00: the hold of lapse has lapsed, the grant of gone has ended, fut's first
-- grant has started, none of them settled
SELECT tests.travel('2026-03-10 10:00+00');
SELECT results_eq(
  $$select account_id, balance_settled from pg_temp.settled() order by 1$$,
  $$values ('demo'::text, true), ('drip2', true), ('fut', false), ('gone', false), ('held', true), ('lapse', false),
           ('od', true), ('pool', true), ('poor', true), ('rolled', true), ('set', true), ('susp', true),
           ('unl', true)$$,
  'guard, 10:00: thirteen accounts take the settled read of get_balance, ten of them that of check_feature');
SELECT pg_temp.reads_agree('10:00');
SELECT results_eq(
  $$select available, held, buckets from credits.get_balance('od') where credit_type = 'credits'$$,
  $$values (-7.5::numeric, 0::numeric, '{"overdraft": -7.5}'::jsonb)$$,
  'guard: od is in debt (the overdraft bucket)');
SELECT results_eq(
  $$select account_id, available, held from credits.get_balance('held') cross join (values ('held')) v (account_id)
    where credit_type = 'credits'
    union all select 'lapse', available, held from credits.get_balance('lapse') where credit_type = 'credits'
    union all select 'fut', available, held from credits.get_balance('fut') where credit_type = 'credits'$$,
  $$values ('held'::text, 92.5::numeric, 7.5::numeric), ('lapse', 100, 0), ('fut', 104, 0)$$,
  'guard: held holds 7.5, lapse''s lapsed hold holds nothing, fut''s started grant counts, its later one not');
SELECT results_eq(
  $$select buckets from credits.get_balance('rolled') where credit_type = 'credits'$$,
  $$values ('{"monthly": 9, "rollover": 3.5}'::jsonb)$$,
  'guard: rolled has its rollover grant (half of its 7 unused) and a debit of 1');
SELECT ok((select pool_available from credits.get_balance('member') where credit_type = 'credits') = 5,
          'guard: member draws on its pool (5 of its cap of 8 left)');

-- on 03-11 02:00: a new local day: drip's daily grant is due, drip2 takes its own ---------
SELECT tests.travel('2026-03-11 02:00+00');
SELECT tests.act_as('credits_service');
SELECT '' FROM credits.deduct_credits('drip2', 'roast');
SELECT '' FROM credits.deduct_credits('set', 'roast', amount => 0.000001);
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select buckets from credits.get_balance('drip') where credit_type = 'credits'$$,
  $$values ('{"daily": 2}'::jsonb)$$,
  'guard: drip''s daily grant of 03-11 is due, counted as issued');
SELECT pg_temp.reads_agree('03-11');

-- on 04-12: every period has ended, nobody called ------------------------------------------
SELECT tests.travel('2026-04-12 12:00+00');
SELECT pg_temp.reads_agree('04-12');

SELECT * FROM finish();
ROLLBACK;
