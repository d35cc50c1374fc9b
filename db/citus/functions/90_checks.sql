-- What the Citus layout must hold, checked at the end of every migrate
-- --citus: a gap here would not fail a call but answer it wrongly (a
-- function run on the coordinator against the shell of a table, a table
-- left on the coordinator), so the migration stops instead, naming it.

do $$
declare
  v_missing text;
begin
  -- Every per-account table is distributed by account_id, colocated with
  -- accounts; every other table of credits_private is a reference table.
  select string_agg(c.relname, ', ' order by c.relname) into v_missing
  from pg_catalog.pg_class c
  left join pg_catalog.pg_dist_partition d on d.logicalrelid = c.oid
  where c.relnamespace = 'credits_private'::regnamespace and c.relkind = 'r'
    and not (
      (d.partmethod = 'h'
       and pg_catalog.column_to_column_name(c.oid, d.partkey) = 'account_id'
       and d.colocationid = (select a.colocationid from pg_catalog.pg_dist_partition a
                             where a.logicalrelid = 'credits_private.accounts'::regclass))
      or (d.partmethod = 'n' and d.repmodel = 't'
          and c.relname in ('credit_types', 'features', 'plans', 'plan_features', 'event_watchers')));
  if v_missing is not null then
    raise exception 'Citus layout: tables not laid out by account_id or as reference tables: %', v_missing
      using hint = 'db/citus/layout/10_distribute.sql lays them out; a new per-account table needs account_id.';
  end if;

  -- Every function of credits with an account_id parameter runs on the
  -- account's node: its node function is distributed by account_id with
  -- force_delegation.
  select string_agg(p.oid::regprocedure::text, ', ') into v_missing
  from pg_catalog.pg_proc p
  where p.pronamespace = 'credits'::regnamespace
    and exists (select from credits_private._citus_in_args(p.oid) a where a.name = 'account_id')
    and not exists (
      select
      from pg_catalog.pg_proc n
      join pg_catalog.pg_dist_object d on d.classid = 'pg_proc'::regclass and d.objid = n.oid
      where n.pronamespace = 'credits_private'::regnamespace and n.proname = p.proname || '__node'
        and d.force_delegation and d.colocationid = (select a.colocationid from pg_catalog.pg_dist_partition a
                                                     where a.logicalrelid = 'credits_private.accounts'::regclass));
  if v_missing is not null then
    raise exception 'Citus layout: per-account functions not delegated: %', v_missing
      using hint = 'Delegate them in db/citus/functions/80_delegated.sql.';
  end if;

  -- No SQL-language function of ours reads a table (Citus would refuse it,
  -- or read a node's empty shell): 50_sql_helpers.sql made them PL/pgSQL.
  select string_agg(p.oid::regprocedure::text, ', ') into v_missing
  from pg_catalog.pg_proc p
  join pg_catalog.pg_language l on l.oid = p.prolang
  where p.pronamespace in ('credits'::regnamespace, 'credits_private'::regnamespace) and l.lanname = 'sql'
    and p.prosqlbody is null and p.prosrc ~* '\m(from|join)\s+credits(_private)?\.';
  if v_missing is not null then
    raise exception 'Citus layout: SQL functions reading tables: %', v_missing
      using hint = 'db/citus/functions/50_sql_helpers.sql makes them PL/pgSQL.';
  end if;

  -- The balance events come from the row trigger, not the statement trigger
  -- with transition tables.
  if exists (select from pg_catalog.pg_trigger t
             where t.tgrelid = 'credits_private.balances'::regclass and t.tgname = 'balances_emit_events')
     or not exists (select from pg_catalog.pg_trigger t
                    where t.tgrelid = 'credits_private.balances'::regclass and t.tgname = 'balances_emit_events_row') then
    raise exception 'Citus layout: the balance events trigger is not the row trigger of 20_events.sql';
  end if;
end
$$;
