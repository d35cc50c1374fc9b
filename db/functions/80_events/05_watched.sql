-- credits_private._watched(account_id, at): does a live subscriber watch
-- the account's events at `at` (a row of event_watchers for it or for '*',
-- not lapsed)? Only then does a transaction NOTIFY, and write the
-- balance_changed rows nobody would read otherwise. An index probe of a
-- small table. The balance trigger applies the same test set-based, and
-- names it.
--
--   select credits_private._watched('u_42', credits.now());

create or replace function credits_private._watched(account_id text, at timestamptz)
returns boolean
-- PL/pgSQL, not SQL: a SQL function with a sub-select is not inlined, and is
-- parsed and planned again on every call; PL/pgSQL keeps its plans.
language plpgsql
stable
as $$
begin
  return exists (select
                 from credits_private.event_watchers w
                 where w.account_id = any (array[_watched.account_id, '*'])
                   and (w.watched_until is null or w.watched_until > _watched.at));
end
$$;
