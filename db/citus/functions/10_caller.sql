-- Who is calling, on a Citus cluster (docs/scale-out.md, "Caller identity").
--
-- Callers reach the coordinator; the public functions there are SECURITY
-- DEFINER, so Citus reaches the workers as their owner, credits_owner, and
-- neither SET ROLE nor request.jwt.claims travels with it. So the
-- coordinator reads the caller once (_citus_caller: its role of the four,
-- its claims, its actor, its clock) and carries it to the node:
-- * a per-account function is delegated with it as an argument, and its
--   node function sets it for the transaction (db/citus/functions/30_delegate.sql);
-- * a write the coordinator sends itself (the catalog, the watchers, the
--   sweeps) carries it with SET LOCAL, which Citus repeats on every worker
--   of the transaction (_citus_carry_caller).
-- On a node, a session of credits_owner with the transaction setting
-- credits.caller acts as that caller, so row-level security still narrows
-- every statement to what the caller may see or change. A session of
-- credits_owner without it (a read the coordinator spreads over all shards,
-- for a trusted caller) reads as the auditor: everything, and changes
-- nothing. Every other session is read as on a single node. Who may log in
-- as credits_owner on a worker is what pg_hba.conf allows: the coordinator only.

-- The caller's role name (replaces migration 0006's _caller_name on Citus;
-- the other identity helpers call it). Still one expression, inlined.
create or replace function credits_private._caller_name()
returns pg_catalog.name
language sql
stable
return case
  when session_user operator(pg_catalog.=) 'credits_owner'::pg_catalog.name then
    case when coalesce(pg_catalog.current_setting('credits.caller', true), '') operator(pg_catalog.=) ''
         then 'credits_auditor'::pg_catalog.name
         else (pg_catalog.current_setting('credits.caller', true)::pg_catalog.jsonb
               operator(pg_catalog.->>) 'role')::pg_catalog.name end
  else coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user)::pg_catalog.name
end;

-- Who acts, for the ledger: as on a single node (00_clock_and_identity/30_actor.sql),
-- the coordinator's actor where the caller was carried here.
create or replace function credits_private._actor()
returns text
language sql
stable
return coalesce(
  case when session_user operator(pg_catalog.=) 'credits_owner'::pg_catalog.name
       then nullif(pg_catalog.current_setting('credits.caller', true), '')::pg_catalog.jsonb
            operator(pg_catalog.->>) 'actor' end,
  credits_private._caller_sub(), nullif(pg_catalog.current_setting('role'), 'none'), session_user::pg_catalog.text);

-- The caller as the coordinator sees it: role (the most powerful of the
-- four it holds, or null), actor, claims and the session's credits.now.
create or replace function credits_private._citus_caller()
returns jsonb
language sql
stable
return pg_catalog.jsonb_build_object(
  'role', credits_private._caller_role(),
  'actor', credits_private._actor(),
  'claims', nullif(pg_catalog.current_setting('request.jwt.claims', true), ''),
  'now', nullif(pg_catalog.current_setting('credits.now', true), ''));

-- Takes the caller carried to this node for the rest of the transaction:
-- the node side of a delegated call.
create or replace function credits_private._citus_take_caller(caller jsonb)
returns void
language plpgsql
as $$
begin
  perform pg_catalog.set_config('credits.caller', caller::text, true);
  perform pg_catalog.set_config('request.jwt.claims', coalesce(caller ->> 'claims', ''), true);
  perform pg_catalog.set_config('credits.now', coalesce(caller ->> 'now', ''), true);
end
$$;

-- Carries the caller to every worker the coordinator's transaction writes
-- on: SET LOCAL, repeated by Citus on each worker the transaction uses
-- (citus.propagate_set_commands = local; a write always opens a remote
-- transaction block, where the settings are sent).
create or replace function credits_private._citus_carry_caller()
returns void
language plpgsql
as $$
declare
  v_caller jsonb := credits_private._citus_caller();
begin
  set local citus.propagate_set_commands = 'local';
  execute pg_catalog.format('set local credits.caller = %L', v_caller::text);
  if v_caller ->> 'now' is not null then
    execute pg_catalog.format('set local credits.now = %L', v_caller ->> 'now');
  end if;
end
$$;

-- The identity helpers as PL/pgSQL on Citus, their bodies unchanged. On a
-- single node they are inlined expressions (migration 0006), planned once
-- into each cached plan. On a Citus node every statement on a shard is
-- planned again at each execution (the router plan is made with the
-- account's value), and the row-level security policies call these helpers:
-- inlined, each planning reads and decompresses their stored bodies again,
-- the largest share of a debit's time on a worker (perf). Not inlined, a
-- STABLE call costs a function call per row checked: one or a few.
do $$
declare
  v_fn record;
begin
  for v_fn in
    select p.oid::regprocedure as fn, pg_catalog.pg_get_function_result(p.oid) as result,
           pg_catalog.pg_get_function_sqlbody(p.oid) as body
    from pg_catalog.pg_proc p
    where p.pronamespace = 'credits_private'::regnamespace and p.prosqlbody is not null
      and p.proname in ('_caller_name', '_caller_role', '_caller_sub', '_caller_own_account', '_caller_sees_all',
                        '_caller_writes_all', '_actor')
  loop
    execute pg_catalog.format('create or replace function %s returns %s language plpgsql stable as %L',
                              v_fn.fn, v_fn.result, 'begin ' || v_fn.body || '; end');
  end loop;
end
$$;
