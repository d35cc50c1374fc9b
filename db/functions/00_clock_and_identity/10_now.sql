-- credits.now(): the clock every pgcredits function reads.
--
-- now(), unless the session's credits.now setting names a time and the
-- database setting credits.allow_clock_override is on (ALTER DATABASE ...
-- SET credits.allow_clock_override = on): then that time. The database
-- setting is read from the catalog, not from the session, so a caller
-- cannot turn the override on for itself (_clock_override). Tests travel in
-- time with it. A RETURN body, not SECURITY DEFINER: the planner inlines it,
-- so a call costs a setting lookup, not a function call with its own
-- search_path; the override, rare, is a function of its own.
--
--   select credits.now();
--   set credits.now = '2026-01-31 12:00+00';  -- only where the database allows it

create or replace function credits.now()
returns timestamptz
language sql
stable
return case when coalesce(pg_catalog.current_setting('credits.now', true), '') = '' then pg_catalog.now()
            else credits_private._clock_override(pg_catalog.current_setting('credits.now', true)) end;

comment on function credits.now() is
  'The time every pgcredits function uses: now(), or the session''s credits.now setting where the database setting credits.allow_clock_override is on.';
revoke all on function credits.now() from public;
grant execute on function credits.now()
  to credits_service, credits_admin, credits_user, credits_auditor;
