-- credits.unwatch_events(watcher, account_ids): `watcher` no longer watches
-- these accounts (null: none at all, as when a gateway stops). Other
-- watchers of the same accounts keep theirs. Returns how many watches ended.
-- Service and admin. Errors: PT422 (watcher).
--
--   select * from credits.unwatch_events('gateway-7f3a', array['u_42']);

create or replace function credits.unwatch_events(watcher text, account_ids text[] default null)
returns table (unwatched integer)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform credits_private._check_key(watcher, 'watcher');
  delete from credits_private.event_watchers w
  where w.watcher = unwatch_events.watcher
    and (account_ids is null or w.account_id = any (account_ids));
  get diagnostics unwatched = row_count;
  return next;
end
$$;

comment on function credits.unwatch_events(text, text[]) is
  'Ends a watcher''s watch of these accounts (null: all of them); other watchers keep theirs; service and admin.';
revoke all on function credits.unwatch_events(text, text[]) from public;
grant execute on function credits.unwatch_events(text, text[]) to credits_service;
