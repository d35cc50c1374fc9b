-- Roles, the two schemas, default privileges and the caller-identity helpers.
--
-- Roles are cluster-wide, so they are created only when missing and never
-- altered here. credits_owner owns every object and cannot log in; the four
-- caller roles are granted to the login roles of apps, PostgREST or the
-- gateway. The identity helpers live here, not in db/functions, because the
-- row-level security policies of 0002 depend on them.

do $$
begin
  if not exists (select from pg_roles where rolname = 'credits_owner') then
    create role credits_owner nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'credits_service') then
    create role credits_service nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'credits_admin') then
    create role credits_admin nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'credits_user') then
    create role credits_user nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'credits_auditor') then
    create role credits_auditor nologin;
  end if;
  -- An admin may do all a service may.
  grant credits_service to credits_admin;
  -- The migrating role builds the schema as credits_owner.
  execute format('grant credits_owner to %I', current_user);
  execute format('grant create on database %I to credits_owner', current_database());
end
$$;

set local role credits_owner;

create schema credits_private;
comment on schema credits_private is
  'pgcredits internals: tables and helpers. No caller role has USAGE here.';
revoke all on schema credits_private from public;

create schema credits;
comment on schema credits is
  'pgcredits public surface: functions and read-only views. See docs/contract.md.';
revoke all on schema credits from public;
grant usage on schema credits
  to credits_service, credits_admin, credits_user, credits_auditor;

-- Deny by default: nothing the owner creates is executable or readable by PUBLIC.
alter default privileges for role credits_owner revoke execute on functions from public;
alter default privileges for role credits_owner revoke all on tables from public;
alter default privileges for role credits_owner revoke all on sequences from public;

-- Who is calling. The caller's role is the one the session set (SET ROLE,
-- or set_config('role', ...) as PostgREST and the gateway do) or, when none
-- was set, the login role. Inside a SECURITY DEFINER function current_user
-- is the owner, but the role setting and session_user are still the
-- caller's; the setting can only name a role the session user is a member
-- of, so it cannot be forged. A superuser is a member of every role.
--
-- These helpers are plain SQL expressions over built-ins only (no SET, not
-- SECURITY DEFINER, no reference to another helper) so that the planner
-- inlines them: row-level security evaluates them once per statement at the
-- cost of an expression, and a caller without USAGE on credits_private can
-- still run a view whose policies use them.

-- The most powerful of the four roles the caller holds, or null.
create function credits_private._caller_role()
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

-- The caller's JWT subject as PostgREST and Supabase set it; null when absent.
create function credits_private._caller_sub()
returns text
language sql
stable
as $$
  select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
$$;

-- The account a credits_user caller may act on (its JWT subject); null for
-- a caller that is not a credits_user.
create function credits_private._caller_own_account()
returns text
language sql
stable
as $$
  select case when pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_user', 'MEMBER')
              then nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub' end
$$;

-- Does the caller see every account's rows (service, admin, auditor)?
create function credits_private._caller_sees_all()
returns boolean
language sql
stable
as $$
  select pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_service', 'MEMBER')
         or pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_auditor', 'MEMBER')
$$;

-- May the caller change every account's rows (service, admin)?
create function credits_private._caller_writes_all()
returns boolean
language sql
stable
as $$
  select pg_has_role(coalesce(nullif(current_setting('role'), 'none'), session_user)::name, 'credits_service', 'MEMBER')
$$;

-- Views run with the owner's rights but call functions with the caller's, so
-- the policies' helpers must be executable by the caller roles. They reveal
-- nothing but the caller's own identity; without USAGE on credits_private no
-- caller can name them.
grant execute on function credits_private._caller_role(), credits_private._caller_sub(),
  credits_private._caller_own_account(), credits_private._caller_sees_all(),
  credits_private._caller_writes_all()
  to credits_service, credits_admin, credits_user, credits_auditor, credits_owner;

-- Row-level security for a per-account table, the same everywhere: enabled
-- and forced, and the owner's policies narrow every statement to the
-- accounts the caller may see (service, admin, auditor: all; a user: its
-- own) or change (service, admin: all; a user: its own). An append-only
-- table (changeable = false) gets no UPDATE policy. Used by the migrations.
create function credits_private._protect_account_table(table_name text, changeable boolean)
returns void
language plpgsql
as $$
begin
  execute format('alter table credits_private.%I enable row level security', table_name);
  execute format('alter table credits_private.%I force row level security', table_name);
  execute format($p$create policy "callers see their own account, trusted roles every account"
    on credits_private.%I for select to credits_owner
    using ((select credits_private._caller_sees_all())
           or account_id = (select credits_private._caller_own_account()))$p$, table_name);
  execute format($p$create policy "callers add rows to their own account, trusted roles to any"
    on credits_private.%I for insert to credits_owner
    with check ((select credits_private._caller_writes_all())
                or account_id = (select credits_private._caller_own_account()))$p$, table_name);
  if changeable then
    execute format($p$create policy "callers change their own account, trusted roles any"
      on credits_private.%I for update to credits_owner
      using ((select credits_private._caller_writes_all())
             or account_id = (select credits_private._caller_own_account()))
      with check ((select credits_private._caller_writes_all())
                  or account_id = (select credits_private._caller_own_account()))$p$, table_name);
  end if;
end
$$;

reset role;
