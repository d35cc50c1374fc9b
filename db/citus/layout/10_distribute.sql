-- The Citus layout (docs/scale-out.md): applied by `pgcredits migrate --citus`
-- after the yoyo migrations and before the function files, every time; what
-- is laid out already is left as it is.
--
-- * Row-level security policies: Citus refuses sub-selects in the policies
--   of a distributed table, so `(select credits_private._caller_x())` becomes
--   `credits_private._caller_x()`. The helpers are inlined expressions
--   (migration 0006), so the policy is the same test, evaluated per row
--   instead of once per statement.
-- * The catalog (credit_types, features, plans, plan_features) and
--   event_watchers are reference tables: small, global, a copy on every
--   node. Every per-account table is distributed by account_id, colocated
--   with accounts, so an account's rows of every table are on one node.
-- * Citus distributes a table only while no local table's foreign key
--   points at it (and vice versa), so the foreign keys between these tables
--   are dropped, the tables distributed, and the same keys made again.
--
-- Errors: anything Citus refuses (a policy still holding a sub-select, a
-- per-account table without account_id) stops the migration.

do $$
declare
  v_policy record;
  v_using text;
  v_check text;
  v_keys jsonb;
  v_key record;
  v_table text;
  v_reference constant text[] := array['credit_types', 'features', 'plans', 'plan_features', 'event_watchers'];
  v_first constant text := 'accounts';
begin
  if not exists (select from pg_catalog.pg_extension where extname = 'citus') then
    raise exception 'the Citus layout needs the citus extension in database %', current_database()
      using hint = 'CREATE EXTENSION citus on the coordinator and the workers, then pgcredits migrate --citus.';
  end if;

  -- Policies without sub-selects.
  for v_policy in
    select p.tablename, p.policyname, p.qual, p.with_check
    from pg_catalog.pg_policies p
    where p.schemaname = 'credits_private'
      and (p.qual ~ '\( SELECT credits_private\.' or p.with_check ~ '\( SELECT credits_private\.')
  loop
    v_using := regexp_replace(v_policy.qual, '\( SELECT (credits_private\.\w+\(\)) AS \w+\)', '\1', 'g');
    v_check := regexp_replace(v_policy.with_check, '\( SELECT (credits_private\.\w+\(\)) AS \w+\)', '\1', 'g');
    execute format('alter policy %I on credits_private.%I', v_policy.policyname, v_policy.tablename)
            || coalesce(' using (' || v_using || ')', '') || coalesce(' with check (' || v_check || ')', '');
  end loop;

  -- Team pools are not laid out for Citus (docs/scale-out.md): a member's
  -- debit would draw on its pool's account, perhaps on another node. So the
  -- per-account policies lose their pool arm, credits_private._reaches_pool
  -- (migration 0012): a volatile function Citus refuses in the policies of
  -- an UPDATE on a distributed table, and a read of pool_members inside
  -- every statement on a shard.
  for v_policy in
    select p.tablename, p.policyname, p.qual, p.with_check
    from pg_catalog.pg_policies p
    where p.schemaname = 'credits_private'
      and (p.qual ~ '_reaches_pool' or p.with_check ~ '_reaches_pool')
  loop
    v_using := regexp_replace(v_policy.qual, '\s+OR\s+credits_private\._reaches_pool\(account_id\)', '', 'g');
    v_check := regexp_replace(v_policy.with_check, '\s+OR\s+credits_private\._reaches_pool\(account_id\)', '', 'g');
    if v_using ~ '_reaches_pool' or v_check ~ '_reaches_pool' then
      raise exception 'the Citus layout cannot take the pool arm out of policy % on %', v_policy.policyname,
                      v_policy.tablename;
    end if;
    execute format('alter policy %I on credits_private.%I', v_policy.policyname, v_policy.tablename)
            || coalesce(' using (' || v_using || ')', '') || coalesce(' with check (' || v_check || ')', '');
  end loop;

  if not exists (select
                 from pg_catalog.pg_class c
                 join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = 'credits_private' and c.relkind = 'r'
                   and not exists (select from pg_catalog.pg_dist_partition d where d.logicalrelid = c.oid)) then
    return;  -- laid out already
  end if;

  -- The foreign keys among these tables, kept to be made again.
  select coalesce(jsonb_agg(jsonb_build_object('table', c.relname, 'name', k.conname,
                                               'definition', pg_catalog.pg_get_constraintdef(k.oid))), '[]')
  into v_keys
  from pg_catalog.pg_constraint k
  join pg_catalog.pg_class c on c.oid = k.conrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'credits_private' and k.contype = 'f';
  for v_key in select * from jsonb_to_recordset(v_keys) as x ("table" text, name text, definition text) loop
    execute format('alter table credits_private.%I drop constraint %I', v_key.table, v_key.name);
  end loop;

  -- Citus copies a table's rows to its shards with COPY, which row-level
  -- security refuses: lifted for the owner while the tables move.
  for v_table in select c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = 'credits_private' and c.relkind = 'r' and c.relforcerowsecurity loop
    execute format('alter table credits_private.%I no force row level security', v_table);
  end loop;

  foreach v_table in array v_reference loop
    if not exists (select from pg_catalog.pg_dist_partition d
                   where d.logicalrelid = format('credits_private.%I', v_table)::regclass) then
      perform create_reference_table(format('credits_private.%I', v_table));
    end if;
  end loop;
  if not exists (select from pg_catalog.pg_dist_partition d
                 where d.logicalrelid = 'credits_private.accounts'::regclass) then
    perform create_distributed_table('credits_private.accounts', 'account_id', colocate_with => 'none');
  end if;
  for v_table in
    select c.relname
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'credits_private' and c.relkind = 'r'
      and not exists (select from pg_catalog.pg_dist_partition d where d.logicalrelid = c.oid)
    order by c.relname
  loop
    perform create_distributed_table(format('credits_private.%I', v_table), 'account_id',
                                     colocate_with => 'credits_private.' || v_first);
  end loop;

  for v_key in select * from jsonb_to_recordset(v_keys) as x ("table" text, name text, definition text) loop
    execute format('alter table credits_private.%I add constraint %I %s', v_key.table, v_key.name, v_key.definition);
  end loop;
  for v_table in select c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = 'credits_private' and c.relkind = 'r' loop
    execute format('alter table credits_private.%I force row level security', v_table);
  end loop;
end
$$;
