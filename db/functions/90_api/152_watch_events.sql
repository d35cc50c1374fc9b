-- credits.watch_events(watcher, account_ids, ttl): says that `watcher` (a
-- gateway process, or an app that LISTENs on credits_events itself) watches
-- the events of these accounts ('*': every account) for `ttl` from now
-- (null: until it unwatches). Only transactions on a watched account
-- NOTIFY, and only they write balance_changed rows: what nobody watches
-- costs no notification (docs/decisions.md, "Events: who pays for a
-- notification"). Watching again extends a watch. Returns how many accounts
-- the watcher now watches. Service and admin; the gateway calls it while
-- its streams are open. Errors: PT422 (watcher, an account id, ttl).
--
--   select * from credits.watch_events('gateway-7f3a', array['u_42', 'u_43'], '2 minutes');
--   select * from credits.watch_events('billing-worker', array['*'], null);  -- every account, for good

create or replace function credits.watch_events(watcher text, account_ids text[],
                                                ttl interval default '2 minutes')
returns table (watching integer)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_bad text;
begin
  perform credits_private._check_key(watcher, 'watcher');
  if ttl is not null and (ttl < interval '1 second' or ttl > interval '1 day') then
    raise exception 'ttl must be between 1 second and 1 day, or null for a watch until unwatched, got %', ttl
      using errcode = 'PT422', hint = 'Watch for a few minutes and watch again while the stream is open.';
  end if;
  select a into v_bad from unnest(account_ids) a where a is null or a = '' or length(a) > 200 limit 1;
  if account_ids is null or found then
    raise exception 'account_ids must be account ids of 1 to 200 characters, got %',
                    credits_private._shown(coalesce(quote_literal(v_bad), 'null'))
      using errcode = 'PT422', hint = 'Pass the accounts whose events are streamed, or ''*'' for every account.';
  end if;
  insert into credits_private.event_watchers as w (watcher, account_id, watched_until)
  select watch_events.watcher, a, v_now + ttl
  from (select distinct a from unnest(account_ids) a order by a) ids (a)
  on conflict on constraint event_watchers_pkey do update
    set watched_until = case when w.watched_until is null or excluded.watched_until is null then null
                             else greatest(w.watched_until, excluded.watched_until) end;
  -- A watcher's lapsed rows go when it watches again.
  delete from credits_private.event_watchers w
  where w.watcher = watch_events.watcher and w.watched_until <= v_now;
  select count(*)::integer into watching
  from credits_private.event_watchers w
  where w.watcher = watch_events.watcher;
  return next;
end
$$;

comment on function credits.watch_events(text, text[], interval) is
  'Says that a watcher (a gateway, an app that LISTENs) watches these accounts'' events (''*'': all) for ttl (null: until unwatched): only watched accounts are notified; service and admin.';
revoke all on function credits.watch_events(text, text[], interval) from public;
grant execute on function credits.watch_events(text, text[], interval) to credits_service;
