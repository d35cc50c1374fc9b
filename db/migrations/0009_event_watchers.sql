-- Who watches which account's events (issue 13; docs/decisions.md, "Events:
-- who pays for a notification"). A NOTIFY in a transaction takes the
-- database-wide notify lock at commit and holds it through the commit's
-- flush, so every notifying commit waits for the one before: group commit is
-- lost. So a transaction notifies only for accounts a live subscriber
-- watches, and writes balance_changed rows only for them; crossings,
-- refusals and plan changes are always written to the outbox.
--
-- event_watchers: one row per watcher (a gateway process, or an app that
-- LISTENs itself) and account it watches ('*': every account), until a
-- moment (null: until it unwatches). The gateway refreshes its rows while a
-- stream is open; a watcher that dies is forgotten when its rows lapse.
-- Global, not per account: the row of '*' names no account.

set local role credits_owner;

create table credits_private.event_watchers (
  watcher       text not null check (watcher <> '' and length(watcher) <= 255),
  account_id    text not null check (account_id <> '' and length(account_id) <= 200),
  watched_until timestamptz,
  primary key (account_id, watcher)
);

alter table credits_private.event_watchers enable row level security;
alter table credits_private.event_watchers force row level security;
-- Every statement that moves a balance reads it, whoever the caller is;
-- only backends say who watches.
create policy "every caller reads who watches" on credits_private.event_watchers
  for select to credits_owner using (true);
create policy "trusted roles say who watches" on credits_private.event_watchers
  for all to credits_owner
  using ((select credits_private._caller_writes_all()))
  with check ((select credits_private._caller_writes_all()));

reset role;
