-- get_quotas (SPEC §2 Spending): one row per feature of the account's plan,
-- each agreeing with check_feature; the period limit, the uses counted and
-- what is left; next_reset_at the period's end for a limit reached; a
-- period that has ended reads as the next one (lazily, nothing written);
-- unlimited plans; a feature the plan disables; no side effects; who may
-- call it (a user on its own account only, the auditor, the service).

BEGIN;
SELECT plan(15);
SELECT '' FROM tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00')::text;

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT o.account_id
FROM (values ('qt_free', 'free'), ('qt_team', 'team'), ('alice', 'free'), ('bob', 'free')) v (account_id, plan),
     credits.open_account(v.account_id, v.plan) o;

SELECT results_eq(
  $$select feature, credit_type, cost, allowed, reason, period_limit, period_used, period_remaining,
           next_reset_at = '2026-04-10 12:00+00'
    from credits.get_quotas('qt_free')$$,
  $$values ('analysis_run', 'analysis', 2::numeric, false, 'insufficient_credits', null::integer, null::integer,
            null::integer, true),
           ('chapter', 'credits', 1::numeric, true, null::text, 3, 0, 3, true),
           ('chat', 'credits', 0::numeric, true, null::text, null, null, null, true),
           ('roast', 'credits', 1::numeric, true, null::text, null, null, null, true),
           ('video', 'credits', 0::numeric, true, null::text, null, null, null, true)$$,
  'get_quotas: every feature of the free plan (not premium, which it lacks), by name, with its limit');

SELECT is_empty(
  $$select q.feature from credits.get_quotas('qt_free') q
    cross join lateral credits.check_feature('qt_free', q.feature) c
    where (q.allowed, q.reason, q.cost, q.period_remaining) is distinct from (c.allowed, c.reason, c.cost,
                                                                                c.period_remaining)$$,
  'get_quotas: every row agrees with check_feature');

CREATE TEMP TABLE ledger_before ON COMMIT DROP AS SELECT * FROM credits.ledger;
CREATE TEMP TABLE events_before ON COMMIT DROP AS SELECT * FROM credits.events;
SELECT ok FROM credits.deduct_credits('qt_free', 'chapter');
SELECT ok FROM credits.deduct_credits('qt_free', 'chapter');
SELECT results_eq(
  $$select allowed, period_used, period_remaining from credits.get_quotas('qt_free') where feature = 'chapter'$$,
  $$values (true, 2, 1)$$,
  'get_quotas: two chapters used, one left');
SELECT ok FROM credits.deduct_credits('qt_free', 'chapter');
SELECT results_eq(
  $$select allowed, reason, period_limit, period_used, period_remaining, next_reset_at
    from credits.get_quotas('qt_free') where feature = 'chapter'$$,
  $$values (false, 'period_limit_reached', 3, 3, 0, '2026-04-10 12:00+00'::timestamptz)$$,
  'get_quotas: the third chapter reaches the limit, which lifts at the period''s end');

DROP TABLE ledger_before;
CREATE TEMP TABLE ledger_before ON COMMIT DROP AS SELECT * FROM credits.ledger;
DROP TABLE events_before;
CREATE TEMP TABLE events_before ON COMMIT DROP AS SELECT * FROM credits.events;
SELECT count(*)::text FROM credits.get_quotas('qt_free');
SELECT set_eq('select * from credits.ledger', 'select * from ledger_before', 'get_quotas writes no ledger row');
SELECT set_eq('select * from credits.events', 'select * from events_before', 'get_quotas emits no event');

SELECT results_eq(
  $$select feature, cost, allowed from credits.get_quotas('qt_team') where feature in ('premium', 'chapter')$$,
  $$values ('chapter', 0::numeric, true), ('premium', 0::numeric, true)$$,
  'get_quotas: an unlimited plan lists every feature at cost 0, allowed');

-- as superuser: the free plan disables roast (rolled back with the file)
SELECT tests.act_as_superuser();
SELECT '' FROM credits.set_plan_feature('free', 'roast', enabled => false);
SELECT tests.act_as('credits_service');
SELECT results_eq(
  $$select allowed, reason from credits.get_quotas('qt_free') where feature = 'roast'$$,
  $$values (false, 'feature_not_in_plan')$$,
  'get_quotas: a feature the plan disables is listed, refused with feature_not_in_plan');

-- a month later: the period has ended; read as the next one, nothing written
SELECT tests.travel('2026-04-11 09:00+00')::text;
SELECT results_eq(
  $$select allowed, period_used, period_remaining, next_reset_at
    from credits.get_quotas('qt_free') where feature = 'chapter'$$,
  $$values (true, 0, 3, '2026-05-10 12:00+00'::timestamptz)$$,
  'get_quotas: after the period''s end the limit reads as reset (settled lazily)');
SELECT set_eq('select * from credits.ledger', 'select * from ledger_before', 'get_quotas settled nothing');

SELECT throws_ok($$select * from credits.get_quotas('nobody')$$, 'PT404', null,
  'get_quotas: an unknown account is PT404');

-- as users ---------------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT results_eq(
  $$select count(*)::int from credits.get_quotas('alice')$$, $$values (5)$$,
  'get_quotas: a user reads its own quotas');
SELECT throws_ok($$select * from credits.get_quotas('bob')$$, '42501', null,
  'get_quotas: a user may not read another account''s');

SELECT tests.act_as('credits_auditor');
SELECT results_eq(
  $$select count(*)::int from credits.get_quotas('bob')$$, $$values (5)$$,
  'get_quotas: the auditor reads any account''s');

SELECT tests.act_as_superuser();
SELECT ok(not has_function_privilege('public', 'credits.get_quotas(text)', 'execute'),
  'get_quotas: no PUBLIC execute');

SELECT * FROM finish();
ROLLBACK;
