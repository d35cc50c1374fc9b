-- SQL-language helpers that read tables, as PL/pgSQL, on a Citus cluster.
--
-- Citus plans a SQL function's body with its parameters as parameters: it
-- refuses one that reads a distributed table ("parameterized queries for SQL
-- functions referencing distributed tables are not supported"), and where
-- it does not notice the distributed table it reads the node's empty shell
-- of the table instead of its shard, silently (issue 16: a hold reserved
-- with no earmarks). PL/pgSQL runs each query with its parameters as
-- values, which Citus routes to the account's shard. So every SQL function
-- of credits_private whose body reads a table of credits_private is made
-- again in PL/pgSQL, with the same body: `return query <body>` for a set,
-- `return (<body>)` for a value, names resolved as SQL resolves them
-- (#variable_conflict use_column). An inlined helper (a RETURN body) reads
-- no table and stays as it is. 90_checks.sql fails the migration if any
-- such SQL function is left.

do $$
declare
  v_fn record;
begin
  for v_fn in
    select p.oid::regprocedure as fn, p.proname, p.proretset, p.prosrc,
           pg_catalog.pg_get_function_arguments(p.oid) as args, pg_catalog.pg_get_function_result(p.oid) as result,
           p.provolatile
    from pg_catalog.pg_proc p
    join pg_catalog.pg_language l on l.oid = p.prolang
    where p.pronamespace = 'credits_private'::regnamespace and l.lanname = 'sql' and p.prosqlbody is null
      and p.prosrc ~* '\mfrom\s+credits_private\.'
  loop
    execute format($f$
      create or replace function credits_private.%1$I(%2$s)
      returns %3$s
      language plpgsql
      %4$s
      as $body$
      #variable_conflict use_column
      begin
        %5$s
      end
      $body$
    $f$,
      v_fn.proname, v_fn.args, v_fn.result,
      case v_fn.provolatile when 'i' then 'immutable' when 's' then 'stable' else 'volatile' end,
      case when v_fn.proretset then format('return query %s;', rtrim(btrim(v_fn.prosrc), ';'))
           else format('return (%s);', rtrim(btrim(v_fn.prosrc), ';')) end);
  end loop;
end
$$;
