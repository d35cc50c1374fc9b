-- Without the database setting credits.allow_clock_override the override is
-- ignored (SPEC §2 "Time"), whatever a session sets: credits.now, a session
-- credits.allow_clock_override = on, a user's set_config, a role-level
-- setting; a user cannot set the database setting. The setting is removed
-- inside this transaction with ALTER DATABASE ... RESET (transactional) and
-- put back before the end; the final ROLLBACK restores it in any case.

BEGIN;
SELECT plan(7);

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
SELECT throws_ok(format('ALTER DATABASE %I SET credits.allow_clock_override = on', current_database()), '42501',
                 format('must be owner of database %s', current_database()), 'a user cannot set the database setting');

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

SELECT * FROM finish();
ROLLBACK;
