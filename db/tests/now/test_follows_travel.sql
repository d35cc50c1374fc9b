-- credits.now() (SPEC §2 "Time"), the one clock of pgcredits: now() while
-- the session's credits.now is unset or empty; the session's credits.now
-- (tests.travel, SET LOCAL, to the microsecond) where the database setting
-- credits.allow_clock_override is on, as this test database has it, for a
-- credits_user too.

BEGIN;
SELECT plan(5);

-- as superuser: no travel yet --------------------------------------------------------

SELECT is(credits.now(), now(), 'credits.now() is now() before any travel (credits.now unset)');
SELECT set_config('credits.now', '', true);
SELECT is(credits.now(), now(), 'credits.now() is now() when credits.now is empty');

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

SELECT * FROM finish();
ROLLBACK;
