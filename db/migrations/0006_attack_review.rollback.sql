-- Undoes 0006: the identity helpers get their text bodies of 0001 back, holds
-- lose maker_role, the ledger's triggers fire in the origin role only, and
-- the events outbox can no longer be pruned.
set local role credits_owner;

drop policy "trusted roles prune old events" on credits_private.events;
drop index credits_private.events_created_at;

alter table credits_private.ledger_entries enable trigger ledger_entries_are_immutable;
alter table credits_private.ledger_entries enable trigger ledger_entries_are_not_truncated;

alter table credits_private.holds drop column maker_role;

-- The helpers first lose their references to _caller_name, then it goes.
create or replace function credits_private._caller_role()
returns text
language sql
stable
as $$
  select case
    when pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_admin', 'MEMBER') then 'credits_admin'
    when pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_service', 'MEMBER') then 'credits_service'
    when pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_auditor', 'MEMBER') then 'credits_auditor'
    when pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_user', 'MEMBER') then 'credits_user'
  end
$$;

create or replace function credits_private._caller_sub()
returns text
language sql
stable
as $$
  select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
$$;

create or replace function credits_private._caller_own_account()
returns text
language sql
stable
as $$
  select case when pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_user', 'MEMBER')
              then nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub' end
$$;

create or replace function credits_private._caller_sees_all()
returns boolean
language sql
stable
as $$
  select pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_service', 'MEMBER')
         or pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_auditor', 'MEMBER')
$$;

create or replace function credits_private._caller_writes_all()
returns boolean
language sql
stable
as $$
  select pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_service', 'MEMBER')
$$;

drop function credits_private._caller_name();

reset role;
