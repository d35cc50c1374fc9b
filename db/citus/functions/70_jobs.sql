-- The jobs on a Citus cluster (docs/scale-out.md, "Jobs"): the coordinator
-- finds the accounts with something due, on every shard, and settles each
-- on its own node, one delegated call per balance or account, all in the
-- job's transaction (which commits on every node it touched, or on none).

-- The sweep of expire_grants and expire_holds: each due balance settled on
-- its node (_settle_due_balance). Its single-node twin is
-- db/functions/30_balances/80_settle_due.sql.
select credits_private._citus_node_function('credits_private._settle_due_balance(text, text, timestamptz)');

create or replace function credits_private._settle_due(at timestamptz, out grants_expired integer,
                                                       out holds_released integer)
language plpgsql
as $$
declare
  v_caller jsonb := credits_private._citus_caller();
  v_due record;
  v_row record;
begin
  grants_expired := 0;
  holds_released := 0;
  for v_due in
    select b.account_id, b.credit_type
    from credits_private.balances b
    where b.settle_at <= at
    order by b.account_id, b.credit_type
  loop
    for v_row in
      select * from credits_private._settle_due_balance__node(v_due.account_id, v_due.credit_type, at, v_caller)
    loop
      if v_row.notifications is not null then
        perform credits_private._citus_send(v_row.notifications);
      else
        grants_expired := grants_expired + (v_row.result ->> 'grants_expired')::integer;
        holds_released := holds_released + (v_row.result ->> 'holds_released')::integer;
      end if;
    end loop;
  end loop;
end
$$;

-- One account's daily grants, on its node: what its next mutating call
-- would settle (_settle_account: the day's daily grants, and a period that
-- ended), and whether a daily grant for its local day was issued.
create or replace function credits_private._citus_daily(account_id text, at timestamptz, out granted boolean)
language plpgsql
as $$
declare
  v_before bigint := (select count(*) from credits_private.grants g
                      where g.account_id = _citus_daily.account_id and g.source = 'daily');
begin
  perform credits_private._settle_account(account_id, at);
  granted := (select count(*) from credits_private.grants g
              where g.account_id = _citus_daily.account_id and g.source = 'daily') > v_before;
end
$$;

select credits_private._citus_node_function('credits_private._citus_daily(text, timestamptz)');

-- credits.grant_daily_credits on Citus: the same contract (every active
-- account whose plan has a daily allowance, once per local day; `day`
-- filters), one delegated call per account not yet settled for its local
-- day. Not one statement for a million accounts as on a single node
-- (db/functions/90_api/160_grant_daily_credits.sql): a statement on the
-- shards cannot write the grants, balances, ledger rows and events of many
-- accounts (docs/scale-out.md says what it costs).
create or replace function credits.grant_daily_credits(day date default null)
returns table (accounts_granted integer)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_caller jsonb := credits_private._citus_caller();
  v_account record;
  v_row record;
begin
  if not credits_private._caller_writes_all() then
    raise exception 'caller may not grant daily credits'
      using errcode = '42501', hint = 'credits_service and credits_admin run the daily job.';
  end if;
  accounts_granted := 0;
  for v_account in
    select a.account_id
    from credits_private.accounts a
    where a.status = 'active'
      and (a.daily_until is null or a.daily_until <= v_now)
      and (grant_daily_credits.day is null or (v_now at time zone a.timezone)::date = grant_daily_credits.day)
      and (a.period_end <= v_now
           or exists (select from credits_private.plans p
                      where p.code = a.plan and p.daily_allowance <> '{}'::jsonb))
    order by a.account_id
  loop
    for v_row in select * from credits_private._citus_daily__node(v_account.account_id, v_now, v_caller) loop
      if v_row.notifications is not null then
        perform credits_private._citus_send(v_row.notifications);
      elsif (v_row.result ->> 'granted')::boolean then
        accounts_granted := accounts_granted + 1;
      end if;
    end loop;
  end loop;
  return next;
end
$$;
