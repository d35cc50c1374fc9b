-- credits.now() (SPEC §2 "Time"): the one clock of pgcredits.
--   * now() when the session's credits.now is unset or empty;
--   * the session's credits.now where the database setting
--     credits.allow_clock_override is on (this test database has it);
--   * every function reads it: an account opened, charged and refused after
--     tests.travel('2030-01-01') carries 2030-01-01 everywhere, the catalog
--     functions included, and no function reads now(), current_timestamp or
--     clock_timestamp() itself (checked in the catalog);
--   * without the database setting the override is ignored, whatever a
--     session sets (credits.allow_clock_override itself, or a role-level
--     setting): the database setting is removed inside this transaction with
--     ALTER DATABASE ... RESET (transactional) and put back before the end;
--     the final ROLLBACK restores it in any case.

BEGIN;
SELECT plan(28);

-- as superuser: no travel yet --------------------------------------------------------

SELECT is(credits.now(), now(), 'credits.now() is now() before any travel (credits.now unset)');
SELECT set_config('credits.now', '', true);
SELECT is(credits.now(), now(), 'credits.now() is now() when credits.now is empty');

SELECT tests.catalog();

-- as superuser: travel (the database allows the override) ------------------------------

SELECT tests.travel('2026-03-10 12:00+00');
SELECT is(credits.now(), '2026-03-10 12:00+00'::timestamptz, 'credits.now() follows tests.travel');
SET LOCAL credits.now = '2031-05-06 07:08:09.123456+02';
SELECT is(credits.now(), '2031-05-06 07:08:09.123456+02'::timestamptz,
          'credits.now() follows SET LOCAL credits.now, to the microsecond');

-- as user alice -------------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT tests.travel('2027-07-07 07:07+00');
SELECT is(credits.now(), '2027-07-07 07:07+00'::timestamptz,
          'credits.now() follows the session''s credits.now for a credits_user too');

-- as service: every function reads credits.now() ------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.travel('2030-01-01 00:00+00');

SELECT results_eq($$ SELECT created_at, updated_at, billing_anchor, period_start, period_end
                     FROM credits.open_account('zed') $$,
                  $$ VALUES ('2030-01-01 00:00+00'::timestamptz, '2030-01-01 00:00+00'::timestamptz,
                            '2030-01-01 00:00+00'::timestamptz, '2030-01-01 00:00+00'::timestamptz,
                            '2030-02-01 00:00+00'::timestamptz) $$,
                  'an account opened after travel: created_at, updated_at, billing_anchor and period from credits.now()');
SELECT results_eq($$ SELECT kind, created_at FROM credits.ledger WHERE account_id = 'zed' $$,
                  $$ VALUES ('grant', '2030-01-01 00:00+00'::timestamptz) $$,
                  'its signup grant''s ledger row is dated by credits.now()');

SELECT tests.travel('2030-01-05 10:00+00');
SELECT is((SELECT ok FROM credits.deduct_credits('zed', 'roast', idempotency_key => 'zed-1')), true,
          'zed is charged a roast');
SELECT is((SELECT created_at FROM credits.ledger WHERE account_id = 'zed' AND idempotency_key = 'zed-1'),
          '2030-01-05 10:00+00'::timestamptz, 'the debit''s ledger row is dated by credits.now()');
SELECT is((SELECT reason FROM credits.deduct_credits('zed', 'premium')), 'feature_not_in_plan',
          'zed''s premium call is refused');
SELECT is((SELECT created_at FROM credits.gate_events WHERE account_id = 'zed'),
          '2030-01-05 10:00+00'::timestamptz, 'the refusal''s event is dated by credits.now()');
SELECT is((SELECT available FROM credits.grant_credits('zed', 3, 'promo', expires_at => '2030-01-06 00:00+00',
                                                       idempotency_key => 'zed-g1')),
          8::numeric, 'zed is granted 3 promo credits until 2030-01-06');
SELECT is((SELECT created_at FROM credits.ledger WHERE account_id = 'zed' AND idempotency_key = 'zed-g1'),
          '2030-01-05 10:00+00'::timestamptz, 'the grant''s ledger row is dated by credits.now()');

SELECT tests.travel('2030-01-07 00:00+00');
SELECT is((SELECT available FROM credits.get_balance('zed') WHERE credit_type = 'credits'), 5::numeric,
          'get_balance leaves out the promo that ended before credits.now()');
SELECT is((SELECT grants_expired FROM credits.expire_grants()), 1, 'expire_grants expires the promo by credits.now()');
SELECT results_eq($$ SELECT amount, created_at FROM credits.ledger WHERE account_id = 'zed' AND kind = 'expiry' $$,
                  $$ VALUES (-3::numeric, '2030-01-07 00:00+00'::timestamptz) $$,
                  'the expiry''s ledger row is dated by credits.now()');
SELECT is((SELECT updated_at FROM credits.set_account_status('zed', 'suspended', 'test')),
          '2030-01-07 00:00+00'::timestamptz, 'set_account_status dates the change by credits.now()');

-- as admin: the catalog functions read credits.now() too
SELECT tests.act_as('credits_admin');
SELECT is((SELECT updated_at FROM credits.upsert_feature('roast', 'credits', 2)),
          '2030-01-07 00:00+00'::timestamptz, 'upsert_feature dates the change by credits.now()');
SELECT is((SELECT created_at FROM credits.upsert_credit_type('gems', 'Gems')),
          '2030-01-07 00:00+00'::timestamptz, 'upsert_credit_type dates a new credit type by credits.now()');

-- as superuser: nothing reads the clock but credits.now() -------------------------
SELECT tests.act_as_superuser();

SELECT is_empty($$
  SELECT p.oid::regprocedure::text
  FROM pg_proc p
  WHERE p.pronamespace IN ('credits'::regnamespace, 'credits_private'::regnamespace)
    AND p.oid <> 'credits.now()'::regprocedure
    AND regexp_replace(p.prosrc, '--[^\n]*', '', 'g')
        ~* '(^|[^.a-z0-9_])(now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday)\s*\(|\m(current_timestamp|localtimestamp|current_date|current_time|localtime)\M'
$$, 'no function but credits.now() reads the clock itself (now(), current_timestamp, clock_timestamp(), ...)');

-- as superuser: without the database setting the override is ignored ----------------

DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I RESET credits.allow_clock_override', current_database());
END
$$;
SELECT is_empty($$
  SELECT s.setconfig
  FROM pg_db_role_setting s
  WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND s.setrole = 0
    AND EXISTS (SELECT FROM unnest(s.setconfig) c WHERE c LIKE 'credits.allow\_clock\_override=%')
$$, 'inside this transaction the database has no credits.allow_clock_override setting');

SELECT tests.travel('2001-02-03 04:05+00');
SELECT is(credits.now(), now(), 'without the database setting credits.now() ignores credits.now');
SET LOCAL credits.allow_clock_override = on;
SELECT is(credits.now(), now(),
          'a session setting credits.allow_clock_override = on does not turn the override on');

-- as user alice
SELECT tests.act_as('credits_user', 'alice');
SELECT set_config('credits.allow_clock_override', 'on', true);
SELECT tests.travel('2001-02-03 04:05+00');
SELECT is(credits.now(), now(), 'a user cannot turn the override on for itself with set_config');
SELECT throws_ok(format('ALTER DATABASE %I SET credits.allow_clock_override = on', current_database()),
                 '42501', format('must be owner of database %s', current_database()), 'a user cannot set the database setting');

-- as superuser: a role-level setting is not the database setting
SELECT tests.act_as_superuser();
DO $$
BEGIN
  EXECUTE format('ALTER ROLE credits_user IN DATABASE %I SET credits.allow_clock_override = on',
                 current_database());
END
$$;
SELECT tests.act_as('credits_user', 'alice');
SELECT tests.travel('2001-02-03 04:05+00');
SELECT is(credits.now(), now(), 'a role-level credits.allow_clock_override does not turn the override on');

-- as superuser: the database setting back, the override works again
SELECT tests.act_as_superuser();
DO $$
BEGIN
  EXECUTE format('ALTER ROLE credits_user IN DATABASE %I RESET credits.allow_clock_override', current_database());
  EXECUTE format('ALTER DATABASE %I SET credits.allow_clock_override = on', current_database());
END
$$;
SELECT tests.travel('2030-01-05 10:00+00');
SELECT is(credits.now(), '2030-01-05 10:00+00'::timestamptz,
          'with the database setting back, credits.now() follows credits.now again');

SELECT is_empty('SELECT * FROM credits.reconciliation', 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
