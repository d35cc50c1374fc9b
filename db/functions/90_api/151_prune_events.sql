-- credits.prune_events(): deletes the events (balance changes, crossings,
-- refusals: the rows of credits.events and credits.gate_events) older than
-- the retention, the database setting credits.event_retention (90 days
-- when unset). Nothing else depends on old events: the ledger keeps every
-- change for good. pg_cron runs it hourly. Returns how many it deleted.
-- Service.
--
--   alter database pgcredits set credits.event_retention = '30 days';
--   select * from credits.prune_events();

create or replace function credits.prune_events()
returns table (events_pruned bigint)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_retention interval := coalesce(credits_private._database_setting('credits.event_retention'), '90 days');
begin
  if v_retention < interval '1 hour' then
    raise exception 'credits.event_retention must be at least 1 hour, got %', v_retention
      using errcode = 'PT422', hint = 'ALTER DATABASE ... SET credits.event_retention = ''90 days''.';
  end if;
  delete from credits_private.events e
  where e.created_at < credits.now() - v_retention;
  get diagnostics events_pruned = row_count;
  return next;
end
$$;

comment on function credits.prune_events() is
  'Deletes events older than the database setting credits.event_retention (90 days) and returns how many; service, run by pg_cron.';
revoke all on function credits.prune_events() from public;
grant execute on function credits.prune_events() to credits_service;
