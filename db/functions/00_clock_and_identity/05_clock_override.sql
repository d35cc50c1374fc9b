-- credits_private._clock_override(wanted): the time credits.now() reports
-- when a session sets credits.now: `wanted` where the database setting
-- credits.allow_clock_override is on, else now(). Runs as the owner (it
-- reads the setting through _database_setting); callers may execute it.
--
--   select credits_private._clock_override('2026-01-31 12:00+00');

create or replace function credits_private._clock_override(wanted text)
returns timestamptz
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if credits_private._database_setting('credits.allow_clock_override') in ('on', 'true', '1') then
    return wanted::timestamptz;
  end if;
  return now();
end
$$;

revoke all on function credits_private._clock_override(text) from public;
grant execute on function credits_private._clock_override(text)
  to credits_service, credits_admin, credits_user, credits_auditor;
