-- What issue 9's attack review changed in the schema (docs/security.md):
--
-- * The caller-identity helpers are bound when they are created. The row
--   policies and views call them, and a SQL function with a text body is
--   parsed again at every call with the *caller's* search_path, so a login
--   could plant its own pg_has_role, current_setting or ->> ahead of
--   pg_catalog and see every account. Written with RETURN, the body is
--   stored parsed, every name already resolved, and the planner still
--   inlines it (one helper inside another too: _caller_name). Every name
--   is qualified as well, for the reader.
-- * A hold records the kind of caller that made it (maker_role): a
--   credits_user may end only the holds a credits_user made (SPEC §1 hold).
--   Holds made before this migration are counted as a backend's.
-- * The ledger's append-only triggers fire in every replication role
--   (ENABLE ALWAYS): `session_replication_role = replica` skips ordinary
--   triggers, and with them the ledger's immutability.
-- * The events outbox (balance changes and refusals) is pruned past a
--   retention (credits.prune_events): a policy lets trusted callers delete
--   old rows, and a BRIN index finds them.

set local role credits_owner;

-- The caller's role name: the role setting, or the login when none is set.
create function credits_private._caller_name()
returns pg_catalog.name
language sql
stable
return coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user)::pg_catalog.name;

grant execute on function credits_private._caller_name()
  to credits_service, credits_admin, credits_user, credits_auditor, credits_owner;

create or replace function credits_private._caller_role()
returns text
language sql
stable
return case
  when pg_catalog.pg_has_role(credits_private._caller_name(), 'credits_admin', 'MEMBER') then 'credits_admin'
  when pg_catalog.pg_has_role(credits_private._caller_name(), 'credits_service', 'MEMBER') then 'credits_service'
  when pg_catalog.pg_has_role(credits_private._caller_name(), 'credits_auditor', 'MEMBER') then 'credits_auditor'
  when pg_catalog.pg_has_role(credits_private._caller_name(), 'credits_user', 'MEMBER') then 'credits_user'
end;

create or replace function credits_private._caller_sub()
returns text
language sql
stable
return nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::pg_catalog.jsonb
       operator(pg_catalog.->>) 'sub';

create or replace function credits_private._caller_own_account()
returns text
language sql
stable
return case when pg_catalog.pg_has_role(credits_private._caller_name(), 'credits_user', 'MEMBER')
            then credits_private._caller_sub() end;

create or replace function credits_private._caller_sees_all()
returns boolean
language sql
stable
return pg_catalog.pg_has_role(credits_private._caller_name(), 'credits_service', 'MEMBER')
    or pg_catalog.pg_has_role(credits_private._caller_name(), 'credits_auditor', 'MEMBER');

create or replace function credits_private._caller_writes_all()
returns boolean
language sql
stable
return pg_catalog.pg_has_role(credits_private._caller_name(), 'credits_service', 'MEMBER');

alter table credits_private.holds add column maker_role text not null default 'credits_service';
alter table credits_private.holds alter column maker_role drop default;

alter table credits_private.ledger_entries enable always trigger ledger_entries_are_immutable;
alter table credits_private.ledger_entries enable always trigger ledger_entries_are_not_truncated;

create index events_created_at on credits_private.events using brin (created_at);
create policy "trusted roles prune old events" on credits_private.events for delete to credits_owner
  using ((select credits_private._caller_writes_all()));

reset role;
