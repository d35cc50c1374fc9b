-- The views of credits on a Citus cluster, for every caller role
-- (docs/scale-out.md, "Views").
--
-- A view of credits runs with its owner's rights, but Citus reaches the
-- workers as the *current* user, the caller's role, which cannot log in
-- (and would carry neither its claims nor, for a credits_user, its
-- account). So each per-account view V becomes a read through a function:
-- * credits_private.V__rows: V's own definition, kept as it was;
-- * credits_private.V__node(account_id, caller): the rows of one account on
--   its node, the caller carried (a delegated call, like 30_delegate.sql), so
--   row-level security there narrows them to the caller;
-- * credits_private.V__read(): on the coordinator, as the owner: for a
--   credits_user, V__node of its own account (its JWT sub); for the roles
--   that see every account, V__rows over every shard (the nodes read a
--   session of the owner without a caller as the auditor, 10_caller.sql);
--   for anyone else, nothing;
-- * credits.V, replaced in place (its columns, privileges and comment stay):
--   select * from V__read().
-- A filter on credits.V is applied after the read: a trusted role reading
-- one account of a large view reads every shard (docs/scale-out.md says so).
-- usage_daily sums account_usage_daily and needs nothing of its own.

-- The generators below are made anew on every migrate: whatever signature
-- an earlier version gave them goes first.
do $$
declare
  v_fn regprocedure;
begin
  for v_fn in select p.oid from pg_catalog.pg_proc p
              where p.pronamespace = 'credits_private'::regnamespace and p.proname in ('_citus_view') loop
    execute pg_catalog.format('drop function %s', v_fn);
  end loop;
end
$$;

-- credits.reconciliation, written so that Citus can run it on every shard:
-- the three sums as one UNION ALL grouped by account and credit type (the
-- full joins on coalesce() of the single-node view crash Citus's planner).
-- The same rows: a row only where the materialized balance, the ledger sum
-- and the grant remainders less the debt (or held amounts, or the debt and
-- the ledger's) disagree. Its twin is
-- db/functions/85_views/034_reconciliation.sql.
create or replace view credits.reconciliation with (security_barrier) as
  select x.account_id, x.credit_type,
         sum(x.balance)::numeric as materialized_balance,
         sum(x.ledger)::numeric as ledger_sum,
         sum(x.remaining)::numeric as grants_remaining,
         sum(x.held)::numeric as materialized_held,
         sum(x.grants_held)::numeric as grants_held,
         sum(x.debt)::numeric as materialized_debt,
         sum(x.ledger_debt)::numeric as ledger_debt
  from (select b.account_id, b.credit_type, b.balance, 0 as ledger, 0 as remaining, b.held, 0 as grants_held,
               b.debt, 0 as ledger_debt
        from credits_private.balances b
        union all
        select l.account_id, l.credit_type, 0, l.amount, 0, 0, 0, 0, coalesce(l.debt, 0)
        from credits_private.ledger_entries l
        union all
        select g.account_id, g.credit_type, 0, 0, g.remaining, 0, g.held, 0, 0
        from credits_private.grants g) x
  group by x.account_id, x.credit_type
  having sum(x.balance) <> sum(x.ledger) or sum(x.balance) <> sum(x.remaining) - sum(x.debt)
      or sum(x.held) <> sum(x.grants_held) or sum(x.debt) <> sum(x.ledger_debt);

-- The default plan, for a view read on an account's node: there a statement
-- may not join a reference table with the account's rows (docs/scale-out.md).
create or replace function credits_private._citus_default_plan()
returns text
language plpgsql
stable
as $$
begin
  return (select p.code from credits_private.plans p where p.is_default);
end
$$;

-- Reads the view credits.<view> through functions (the top of this file).
-- `rewrites`: as for _citus_delegate, made in the kept definition.
-- `catalog`: a view of reference tables: every caller reads all of it (its
-- rows are the same on every node; Citus reads them on the coordinator, but
-- in a statement it parses again as the caller, who may not name
-- credits_private), so V__read returns V__rows for everyone, no V__node.
-- `per_account`: a view whose rows call functions that read the account's
-- other rows (credits.balances: available, held) cannot run on every shard
-- at once (Citus refuses a distributed query inside a query on a shard), so
-- a trusted reader reads it one account at a time, each on its node.
create or replace function credits_private._citus_view(view_name text, rewrites jsonb default '[]',
                                                       per_account boolean default false,
                                                       catalog boolean default false)
returns void
language plpgsql
as $$
declare
  v_definition text := pg_catalog.pg_get_viewdef(pg_catalog.format('credits.%I', view_name)::regclass);
  v_rewrite jsonb;
  v_node regprocedure;
begin
  for v_rewrite in select r.value from jsonb_array_elements(rewrites) r loop
    if (length(v_definition) - length(replace(v_definition, v_rewrite ->> 0, ''))) / length(v_rewrite ->> 0) <> 1 then
      raise exception 'cannot read view credits.% through functions: the text to rewrite does not occur exactly once: %',
                      view_name, v_rewrite ->> 0
        using hint = 'The view changed: update its rewrite in db/citus/functions/60_views.sql.';
    end if;
    v_definition := replace(v_definition, v_rewrite ->> 0, v_rewrite ->> 1);
  end loop;
  execute pg_catalog.format('create or replace view credits_private.%I with (security_barrier) as %s',
                            view_name || '__rows', v_definition);
  if catalog then
    execute pg_catalog.format($f$
      create or replace function credits_private.%1$I()
      returns setof credits_private.%2$I
      language plpgsql
      stable
      security definer
      set search_path = pg_catalog, pg_temp
      as $body$
      begin
        return query select * from credits_private.%2$I;
      end
      $body$
      $f$, view_name || '__read', view_name || '__rows');
  else
  execute pg_catalog.format($f$
    create or replace function credits_private.%1$I(account_id text, caller jsonb)
    returns setof credits_private.%2$I
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
    as $body$
    begin
      perform credits_private._citus_take_caller(caller);
      return query select * from credits_private.%2$I v where v.account_id = %1$I.account_id;
    end
    $body$
    $f$, view_name || '__node', view_name || '__rows');
  v_node := pg_catalog.format('credits_private.%I(text, jsonb)', view_name || '__node')::regprocedure;
  execute pg_catalog.format('revoke all on function %s from public', v_node);
  if not exists (select from pg_catalog.pg_dist_object d
                 where d.classid = 'pg_proc'::regclass and d.objid = v_node and d.distribution_argument_index is not null) then
    perform create_distributed_function(v_node, 'account_id', colocate_with => 'credits_private.accounts',
                                        force_delegation => true);
  end if;
  execute pg_catalog.format($f$
    create or replace function credits_private.%1$I()
    returns setof credits_private.%2$I
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog, pg_temp
    as $body$
    declare
      v_own text := credits_private._caller_own_account();
      v_account text;
    begin
      if credits_private._caller_sees_all() and %4$L then
        for v_account in select a.account_id from credits_private.accounts a order by a.account_id loop
          return query select * from credits_private.%3$I(v_account, credits_private._citus_caller());
        end loop;
      elsif credits_private._caller_sees_all() then
        return query select * from credits_private.%2$I;
      elsif v_own is not null then
        return query select * from credits_private.%3$I(v_own, credits_private._citus_caller());
      end if;
    end
    $body$
    $f$, view_name || '__read', view_name || '__rows', view_name || '__node', per_account);
  end if;
  execute pg_catalog.format('revoke all on function credits_private.%I() from public', view_name || '__read');
  execute pg_catalog.format(
    'grant execute on function credits_private.%I() to credits_service, credits_admin, credits_user, credits_auditor',
    view_name || '__read');
  execute pg_catalog.format(
    'create or replace view credits.%I with (security_barrier) as select * from credits_private.%I()',
    view_name, view_name || '__read');
end
$$;

select credits_private._citus_view('credit_types', catalog => true);
select credits_private._citus_view('features', catalog => true);
select credits_private._citus_view('plans', catalog => true);
select credits_private._citus_view('plan_features', catalog => true);
select credits_private._citus_view('accounts');
select credits_private._citus_view('ledger');
select credits_private._citus_view('balances', per_account => true);
select credits_private._citus_view('reconciliation');
select credits_private._citus_view('account_usage_daily');
select credits_private._citus_view('top_consumers');
select credits_private._citus_view('events');
select credits_private._citus_view('gate_events');
select credits_private._citus_view('holds');
select credits_private._citus_view('subscriptions', rewrites => jsonb_build_array(jsonb_build_array(
  E'( SELECT p.code\n               FROM credits_private.plans p\n              WHERE p.is_default)',
  'credits_private._citus_default_plan()')));
