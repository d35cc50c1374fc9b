-- Teams: shared credit pools with per-member caps (issue 14; docs/contract.md
-- "Teams", docs/decisions.md "Pools").
--
-- * pools: an account other accounts draw on. An account becomes a pool at
--   its first add_pool_member and stays one. A pool is no member, a member
--   no pool: pools do not nest.
-- * pool_members: one row per member (keyed by the member's account_id: an
--   account draws on at most one pool), its pool and its caps per credit
--   type, {"credits": 50}: the most it may take from the pool in one of the
--   pool's periods (a type absent: no cap).
-- * pool_usage: what a member took from its pool in the pool's period
--   (period_start), per credit type; reset lazily like the balances' period
--   counters (credits_private._period_counter). Kept when a member is
--   removed, so leaving and joining again in a period does not reset it.
-- * ledger_entries.member_id names the member on the pool's rows;
--   pool_id and pool_entry_id on the member's row name the pool's row that
--   paid the rest of the same debit. holds likewise (member_id on the
--   pool's share of a hold, pool_id and pool_hold_id on the member's hold).
-- * A pool and its members are different accounts, so no foreign key ties
--   a member's rows to its pool (the scale-out rule: a foreign key between
--   per-account tables pairs account_id with account_id); add_pool_member
--   writes the pool's row before the membership, and pools are never deleted.
-- * The event kind member_cap_reached (the domain's CHECK event_kinds).
-- * Row-level security: inside the functions (current_user is the owner),
--   a credits_user also reaches the rows of the pool it is a member of
--   (credits_private._caller_pool), so its debit can draw on the pool. The
--   views run the caller's expressions with the caller as current_user, so
--   through a view a member sees none of the pool's rows.
-- * _write_ledger and _end_hold name the member and the pool,
--   _settle_account may settle a member's pool (trusted); their signatures
--   change.
-- * get_balance and reset_credits gain two columns, _quote its pool share:
--   their result types change, so they are dropped here and re-created by
--   their function files.

set local role credits_owner;

create table credits_private.pools (
  account_id text primary key references credits_private.accounts,
  created_at timestamptz not null
);

create table credits_private.pool_members (
  account_id text primary key references credits_private.accounts,
  pool_id    text not null,
  caps       jsonb not null default '{}' check (jsonb_typeof(caps) = 'object'),
  added_at   timestamptz not null,
  updated_at timestamptz not null,
  check (pool_id <> account_id)
);
create index pool_members_by_pool on credits_private.pool_members (pool_id, account_id);

create table credits_private.pool_usage (
  account_id   text not null references credits_private.accounts,
  pool_id      text not null,
  credit_type  text not null references credits_private.credit_types,
  period_start timestamptz not null,
  used         numeric(30,6) not null default 0 check (used >= 0),
  updated_at   timestamptz not null,
  primary key (account_id, pool_id, credit_type)
);

alter table credits_private.ledger_entries
  add column member_id text,
  add column pool_id text,
  add column pool_entry_id bigint;
alter table credits_private.holds
  add column member_id text,
  add column pool_id text,
  add column pool_hold_id bigint;
create index holds_open_by_member on credits_private.holds (account_id, member_id, credit_type)
  where member_id is not null and status = 'held';

-- The pool the calling credits_user is a member of, or null. SECURITY
-- DEFINER: the policies call it, as the caller, and it reads a table.
-- VOLATILE, though it changes nothing: the policies call it per row, and
-- only where the row is neither the caller's own nor a trusted caller's
-- (the OR stops before it); a stable function would be run by the planner
-- itself, to estimate every statement on these tables, whoever the caller
-- (docs/decisions.md, "Teams").
create function credits_private._caller_pool()
returns text
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  select m.pool_id from credits_private.pool_members m
  where m.account_id = credits_private._caller_own_account()
$$;
revoke all on function credits_private._caller_pool() from public;
grant execute on function credits_private._caller_pool()
  to credits_service, credits_admin, credits_user, credits_auditor, credits_owner;

-- Does the caller reach this row of its pool: inside the functions
-- (current_user is the owner; in a view it is the caller), the rows of the
-- pool the calling credits_user is a member of. The pool arm of the
-- per-account tables' policies: one call, made only for a row that is
-- neither the caller's own nor a trusted caller's (the OR stops before
-- it). A PL/pgSQL function, so that the policies hold one node rather
-- than the expression: each node of a policy costs every statement on
-- these tables, whoever the caller (docs/decisions.md, "Teams").
create function credits_private._reaches_pool(account_id text)
returns boolean
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  -- Two statements: PL/pgSQL parses the second only when it runs, and a
  -- caller in a view (no USAGE on credits_private) never gets there.
  if current_user <> 'credits_owner' then
    return false;
  end if;
  return account_id = credits_private._caller_pool();
end
$$;
revoke all on function credits_private._reaches_pool(text) from public;
grant execute on function credits_private._reaches_pool(text)
  to credits_service, credits_admin, credits_user, credits_auditor, credits_owner;

-- The pools whose every member a credits_user may see (get_pool): the
-- claim pool_admin, a JSON array of pool ids ({"pool_admin": ["team_1"]}).
-- The policies of pool_members and pool_usage let such a caller's
-- functions read the pool's memberships (get_pool also requires the
-- caller to be a member); they do not call _caller_pool, which reads
-- pool_members itself.
create function credits_private._caller_pool_admin()
returns text[]
language sql
stable
return case when pg_catalog.jsonb_typeof(nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::pg_catalog.jsonb
                                         operator(pg_catalog.->) 'pool_admin') = 'array'
            then array(select pg_catalog.jsonb_array_elements_text(
                          nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::pg_catalog.jsonb
                          operator(pg_catalog.->) 'pool_admin')) end;
grant execute on function credits_private._caller_pool_admin()
  to credits_service, credits_admin, credits_user, credits_auditor, credits_owner;

-- The pool arm of the per-account tables' policies.
do $$
declare
  t text;
  v_reach text := $r$((select credits_private._caller_sees_all())
                      or account_id = (select credits_private._caller_own_account())
                      or credits_private._reaches_pool(account_id))$r$;
  v_write text := $r$((select credits_private._caller_writes_all())
                      or account_id = (select credits_private._caller_own_account())
                      or credits_private._reaches_pool(account_id))$r$;
begin
  foreach t in array array['accounts', 'periods', 'period_usage', 'balances', 'grants', 'ledger_entries',
                           'events', 'holds', 'subscriptions', 'subscription_events'] loop
    execute format('alter policy "callers see their own account, trusted roles every account" on credits_private.%I using %s',
                   t, v_reach);
    execute format('alter policy "callers add rows to their own account, trusted roles to any" on credits_private.%I with check %s',
                   t, v_write);
    if t not in ('ledger_entries', 'events', 'subscription_events') then
      execute format('alter policy "callers change their own account, trusted roles any" on credits_private.%I using %s with check %s',
                     t, v_write, v_write);
    end if;
  end loop;
end
$$;

alter table credits_private.pools enable row level security;
alter table credits_private.pools force row level security;
create policy "trusted roles see every pool, members their own" on credits_private.pools
  for select to credits_owner
  using ((select credits_private._caller_sees_all()) or account_id = (select credits_private._caller_pool()));
create policy "trusted roles make pools" on credits_private.pools
  for insert to credits_owner with check ((select credits_private._caller_writes_all()));

alter table credits_private.pool_members enable row level security;
alter table credits_private.pool_members force row level security;
create policy "members see their own membership, pool admins their pool's" on credits_private.pool_members
  for select to credits_owner
  using ((select credits_private._caller_sees_all())
         or account_id = (select credits_private._caller_own_account())
         or (current_user = 'credits_owner' and pool_id = any (credits_private._caller_pool_admin())));
create policy "trusted roles change memberships" on credits_private.pool_members
  for all to credits_owner
  using ((select credits_private._caller_writes_all()))
  with check ((select credits_private._caller_writes_all()));

alter table credits_private.pool_usage enable row level security;
alter table credits_private.pool_usage force row level security;
create policy "members see their own usage, pool admins their pool's" on credits_private.pool_usage
  for select to credits_owner
  using ((select credits_private._caller_sees_all())
         or account_id = (select credits_private._caller_own_account())
         or (current_user = 'credits_owner' and pool_id = any (credits_private._caller_pool_admin())));
create policy "members count their own usage, trusted roles any" on credits_private.pool_usage
  for insert to credits_owner
  with check ((select credits_private._caller_writes_all())
              or account_id = (select credits_private._caller_own_account()));
create policy "members move their own usage, trusted roles any" on credits_private.pool_usage
  for update to credits_owner
  using ((select credits_private._caller_writes_all())
         or account_id = (select credits_private._caller_own_account()))
  with check ((select credits_private._caller_writes_all())
              or account_id = (select credits_private._caller_own_account()));

drop function if exists credits_private._write_ledger(credits_private.balances, text, numeric, timestamptz, numeric,
                                            bigint, text, jsonb, jsonb, bigint, text, uuid, text, jsonb);
drop function if exists credits_private._settle_account(text, timestamptz);
drop function if exists credits_private._end_hold(credits_private.holds, text, numeric, timestamptz, jsonb,
                                                  timestamptz);
drop function if exists credits.get_balance(text);
drop function if exists credits.reset_credits(text, text);
drop function if exists credits_private._quote(credits_private.accounts, text, jsonb, timestamptz);

-- The longer list is added under a new name before the old one goes: the
-- other way round (drop, then add) trips PostgreSQL's "cannot start a
-- subtransaction when there are unprocessed inval messages" when 0010 ran
-- in the same session (a fresh install).
alter domain credits_private.event_kind add constraint event_kinds
  check (value in ('balance_changed', 'threshold_crossed', 'depleted', 'recovered', 'feature_gated',
                   'plan_changed', 'member_cap_reached'));
alter domain credits_private.event_kind drop constraint event_kind_check;

reset role;
