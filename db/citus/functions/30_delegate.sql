-- Every per-account function runs on the node that holds its account
-- (SPEC §4; docs/scale-out.md, "What runs where").
--
-- For a public function credits.f(..., account_id, ...) this makes three
-- functions out of the one the function files created:
-- * credits_private.f: the same function, body and all (its parameters
--   keep their names, so the body's `f.account_id` still resolves), which
--   only the owner may run;
-- * credits_private.f__node(<f's parameters>, caller jsonb): a Citus
--   distributed function, delegated by account_id with force_delegation, so
--   that it runs on the account's node even inside the caller's transaction.
--   It takes the caller (10_caller.sql), runs credits_private.f, and returns
--   f's rows as jsonb, then the notifications f queued (20_events.sql);
-- * credits.f, replaced in place (its privileges and comment stay): the thin
--   coordinator-side wrapper. It reads the caller, runs `before` where given
--   (what must look at every account, on the coordinator), calls f__node,
--   sends the notifications and returns the rows as f's own type.
-- Applied on every migrate --citus, after the function files re-created f.
--
--   select credits_private._citus_delegate('credits.deduct_credits(text, text, jsonb, text, jsonb, numeric)');

-- The generators below are made anew on every migrate: whatever signature
-- an earlier version gave them goes first.
do $$
declare
  v_fn regprocedure;
begin
  for v_fn in select p.oid from pg_catalog.pg_proc p
              where p.pronamespace = 'credits_private'::regnamespace
                and p.proname in ('_citus_delegate', '_citus_node_function', '_citus_carry', '_citus_in_args') loop
    execute pg_catalog.format('drop function %s', v_fn);
  end loop;
end
$$;

-- Sends the notifications a node queued and handed back.
create or replace function credits_private._citus_send(notifications jsonb)
returns void
language plpgsql
as $$
declare
  v_payload text;
begin
  for v_payload in select jsonb_array_elements_text(notifications) loop
    perform pg_catalog.pg_notify('credits_events', v_payload);
  end loop;
end
$$;

-- The input parameters of a function, in order: name and type.
create or replace function credits_private._citus_in_args(fn regprocedure)
returns table (name text, type text, n bigint)
language sql
stable
as $$
  select a.name, pg_catalog.format_type(a.type, null), row_number() over (order by a.i)
  from pg_catalog.pg_proc p
  cross join lateral unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames,
                            coalesce(p.proargmodes, array_fill('i'::"char", array[p.pronargs])))
                     with ordinality a (type, name, mode, i)
  where p.oid = fn and a.mode in ('i', 'b', 'v')
  order by a.i
$$;

-- The node function of `target` (a function with an account_id parameter):
-- credits_private.<name>__node, delegated by account_id. Returns its name.
create or replace function credits_private._citus_node_function(target regprocedure)
returns regprocedure
language plpgsql
as $$
declare
  v_name text;
  v_schema text;
  v_args text;
  v_types text;
  v_call text;
  v_node regprocedure;
begin
  select p.proname, n.nspname,
         (select string_agg(pg_catalog.format('%I %s', a.name, a.type), ', ' order by a.n)
          from credits_private._citus_in_args(target) a),
         (select string_agg(a.type, ', ' order by a.n) from credits_private._citus_in_args(target) a),
         (select string_agg(pg_catalog.format('%1$I => %1$I', a.name), ', ' order by a.n)
          from credits_private._citus_in_args(target) a)
  into v_name, v_schema, v_args, v_types, v_call
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  where p.oid = target;
  if v_args !~ '(^|, )account_id text' then
    raise exception 'cannot delegate %: it has no account_id parameter', target
      using hint = 'Only per-account functions are delegated (db/citus/functions/30_delegate.sql).';
  end if;
  execute pg_catalog.format($f$
    create or replace function credits_private.%1$I(%2$s, caller jsonb)
    returns table (result jsonb, notifications jsonb)
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
    as $body$
    begin
      perform credits_private._citus_take_caller(caller);
      return query select pg_catalog.to_jsonb(r), null::jsonb from (select * from %3$I.%4$I(%5$s)) r;
      return query select null::jsonb, q.queued
                   from credits_private._citus_take_notifications() q (queued) where q.queued is not null;
    end
    $body$
    $f$, v_name || '__node', v_args, v_schema, v_name, v_call);
  v_node := pg_catalog.format('credits_private.%I(%s, jsonb)', v_name || '__node', v_types)::regprocedure;
  execute pg_catalog.format('revoke all on function %s from public', v_node);
  if not exists (select from pg_catalog.pg_dist_object d
                 where d.classid = 'pg_proc'::regclass and d.objid = v_node and d.distribution_argument_index is not null) then
    perform create_distributed_function(v_node, 'account_id', colocate_with => 'credits_private.accounts',
                                        force_delegation => true);
  end if;
  return v_node;
end
$$;

-- Delegates the public function `fn` (see the top of this file). `before`:
-- a function of the same parameters the wrapper runs on the coordinator first.
-- `rewrites`: [[text, replacement], ...] made in the clone's definition, for a
-- statement Citus cannot run as written; each text must occur exactly once,
-- else the migration stops (the function changed: the rewrite must follow).
create or replace function credits_private._citus_delegate(fn regprocedure, before text default null,
                                                           rewrites jsonb default '[]')
returns void
language plpgsql
as $$
declare
  v_name text;
  v_def text;
  v_head text;
  v_retset boolean;
  v_result text;
  v_rettype text;
  v_positional text;
  v_node regprocedure;
  v_emit text;
  v_declare text := '';
  v_finish text := '';
  v_check text := '';
  v_clone text;
  v_rewrite jsonb;
  -- The views read through functions (60_views.sql) and the functions delegated so far.
  v_views text := (select string_agg(substr(c.relname, 1, length(c.relname) - 6), '|')
                   from pg_catalog.pg_class c
                   where c.relnamespace = 'credits_private'::regnamespace and c.relkind = 'v'
                     and c.relname like '%\_\_rows');
  v_delegated text := (select string_agg(substr(p.proname, 1, length(p.proname) - 6), '|')
                       from pg_catalog.pg_proc p
                       where p.pronamespace = 'credits_private'::regnamespace and p.proname like '%\_\_node'
                         and exists (select from pg_catalog.pg_proc q
                                     where q.pronamespace = 'credits'::regnamespace
                                       and q.proname = substr(p.proname, 1, length(p.proname) - 6)));
begin
  select p.proname, pg_catalog.pg_get_functiondef(p.oid), p.proretset, pg_catalog.pg_get_function_result(p.oid),
         pg_catalog.format_type(p.prorettype, null),
         (select string_agg(pg_catalog.quote_ident(a.name), ', ' order by a.n)
          from credits_private._citus_in_args(fn) a)
  into v_name, v_def, v_retset, v_result, v_rettype, v_positional
  from pg_catalog.pg_proc p
  where p.oid = fn and p.pronamespace = 'credits'::regnamespace;
  if v_name is null then
    raise exception 'cannot delegate %: not a function of schema credits', fn;
  end if;
  if v_def !~ 'AS \$function\$' then
    raise exception 'cannot delegate %: its definition has no $function$ body', fn;
  end if;
  -- The clone, credits_private.f: the same definition in the private schema.
  v_clone := regexp_replace(v_def, '^CREATE OR REPLACE FUNCTION credits\.', 'CREATE OR REPLACE FUNCTION credits_private.');
  -- On the node, the body reads the views' rows and calls the other
  -- delegated functions' bodies directly: credits.V and credits.g there are
  -- the coordinator's wrappers (60_views.sql, and below).
  if v_views is not null then
    v_clone := regexp_replace(v_clone, '\m(from|join)(\s+)credits\.(' || v_views || ')\M', '\1\2credits_private.\3__rows',
                              'gi');
  end if;
  if v_delegated is not null then
    v_clone := regexp_replace(v_clone, '\mcredits\.(' || v_delegated || ')\(', 'credits_private.\1(', 'g');
  end if;
  for v_rewrite in select r.value from jsonb_array_elements(rewrites) r loop
    if (length(v_clone) - length(replace(v_clone, v_rewrite ->> 0, ''))) / length(v_rewrite ->> 0) <> 1 then
      raise exception 'cannot delegate %: the text to rewrite does not occur exactly once: %', fn, v_rewrite ->> 0
        using hint = 'The function changed: update its rewrite in db/citus/functions/80_delegated.sql.';
    end if;
    v_clone := replace(v_clone, v_rewrite ->> 0, v_rewrite ->> 1);
  end loop;
  execute v_clone;
  execute pg_catalog.format('revoke all on function credits_private.%I(%s) from public', v_name,
                            pg_catalog.pg_get_function_identity_arguments(fn));
  v_node := credits_private._citus_node_function(
    pg_catalog.format('credits_private.%I(%s)', v_name,
                      (select string_agg(a.type, ', ' order by a.n) from credits_private._citus_in_args(fn) a))
      ::regprocedure);

  if v_result like 'TABLE(%' then
    v_emit := pg_catalog.format('return query select * from pg_catalog.jsonb_to_record(v_row.result) as x %s;',
                                substr(v_result, 6));
  elsif v_retset then
    v_emit := pg_catalog.format('return next pg_catalog.jsonb_populate_record(null::%s, v_row.result);', v_rettype);
  else
    v_declare := pg_catalog.format('v_result %s;', v_rettype);
    v_emit := pg_catalog.format('v_result := pg_catalog.jsonb_populate_record(null::%s, v_row.result);', v_rettype);
    v_finish := 'return v_result;';
  end if;
  if v_positional ~ 'account_id' then
    v_check := pg_catalog.format($c$
      if account_id is null then
        raise exception 'account_id is required on a Citus cluster: credits.%s runs on the node holding the account'
          using errcode = 'PT422',
                hint = 'Pass the account''s id: on Citus every per-account call names it (docs/contract.md, §4).';
      end if;$c$, v_name);
  end if;

  v_head := substring(v_def from '^(.*?)AS \$function\$');
  execute v_head || pg_catalog.format($w$AS $function$
declare
  v_caller jsonb := credits_private._citus_caller();
  v_row record;
  %1$s
begin
  -- On Citus: runs on the account's node (db/citus/functions/30_delegate.sql).
  %2$s
  %3$s
  for v_row in select * from credits_private.%4$I(%5$s, v_caller) loop
    if v_row.notifications is not null then
      perform credits_private._citus_send(v_row.notifications);
    else
      %6$s
    end if;
  end loop;
  %7$s
end
$function$
$w$, v_declare, v_check,
    case when before is not null then pg_catalog.format('perform %s(%s);', before, v_positional) else '' end,
    v_name || '__node', v_positional, v_emit, v_finish);
end
$$;

-- The functions that run on the coordinator and write there to every node
-- (the catalog's reference tables, the watchers) or reach many accounts (the
-- jobs): credits_private.f keeps the body, and credits.f, replaced in place,
-- carries the caller to the workers first (_citus_carry_caller), then runs it.
--
--   select credits_private._citus_carry('credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text, boolean, jsonb, jsonb)');
create or replace function credits_private._citus_carry(fn regprocedure)
returns void
language plpgsql
as $$
declare
  v_name text;
  v_def text;
  v_retset boolean;
  v_rettype text;
  v_positional text;
  v_call text;
begin
  select p.proname, pg_catalog.pg_get_functiondef(p.oid), p.proretset, pg_catalog.format_type(p.prorettype, null),
         (select string_agg(pg_catalog.quote_ident(a.name), ', ' order by a.n)
          from credits_private._citus_in_args(fn) a)
  into v_name, v_def, v_retset, v_rettype, v_positional
  from pg_catalog.pg_proc p
  where p.oid = fn and p.pronamespace = 'credits'::regnamespace;
  if v_name is null or v_def !~ 'AS \$function\$' then
    raise exception 'cannot carry the caller of %: not a PL/pgSQL function of schema credits', fn;
  end if;
  execute regexp_replace(v_def, '^CREATE OR REPLACE FUNCTION credits\.', 'CREATE OR REPLACE FUNCTION credits_private.');
  v_call := pg_catalog.format('credits_private.%I(%s)', v_name, coalesce(v_positional, ''));
  execute substring(v_def from '^(.*?)AS \$function\$') || pg_catalog.format($w$AS $function$
begin
  -- On Citus: the caller carried to the workers (db/citus/functions/30_delegate.sql).
  perform credits_private._citus_carry_caller();
  %s
end
$function$
$w$, case when v_retset then pg_catalog.format('return query select * from %s;', v_call)
          else pg_catalog.format('return %s;', v_call) end);
end
$$;
