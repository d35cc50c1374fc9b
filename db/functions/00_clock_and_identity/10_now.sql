-- credits.now(): the clock every pgcredits function reads.
--
-- now(), unless the database setting credits.allow_clock_override is on
-- (ALTER DATABASE ... SET credits.allow_clock_override = on), in which case a
-- session's credits.now setting, when set, is the time. The database
-- setting is read from the catalog, not from the session, so a caller cannot
-- turn the override on for itself. Tests travel in time with it.
--
--   select credits.now();
--   set credits.now = '2026-01-31 12:00+00';  -- only where the database allows it

create or replace function credits.now()
returns timestamptz
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_wanted text := current_setting('credits.now', true);
begin
  if v_wanted is null or v_wanted = '' then
    return now();
  end if;
  if credits_private._database_setting('credits.allow_clock_override') in ('on', 'true', '1') then
    return v_wanted::timestamptz;
  end if;
  return now();
end
$$;

comment on function credits.now() is
  'The time every pgcredits function uses: now(), or the session''s credits.now setting where the database setting credits.allow_clock_override is on.';
revoke all on function credits.now() from public;
grant execute on function credits.now()
  to credits_service, credits_admin, credits_user, credits_auditor;
