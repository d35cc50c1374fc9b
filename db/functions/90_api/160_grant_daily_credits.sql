-- credits.grant_daily_credits(day): issues the daily allowances, set-based.
-- For every active account whose plan has a daily allowance, one grant per
-- credit type for the account's local day (its timezone), source `daily`,
-- ending at the account's next local midnight (non-cumulative: what is left
-- ends with the day). `day` null: each account's current local day; a
-- date: only the accounts whose current local day it is (a day already
-- over for an account, or not yet begun there, grants it nothing). Twice,
-- or late, it grants nothing twice (unique index grants_one_daily_per_day),
-- and an account's own next mutating call issues a missed one anyway.
-- Returns the number of accounts granted. Service and admin; pg_cron runs
-- it hourly, so every time zone's midnight is served.
--
-- Statements, whatever the number of accounts: create the balance rows
-- still missing; then one statement that locks the due balance rows in
-- (account_id, credit_type) order, the pools' last, inserts the grants (ON CONFLICT DO
-- NOTHING), adds them to the balances and writes their ledger rows. Its
-- sorts and hashes hold a row per account: work_mem is raised for this
-- function only, so that a million accounts sort in memory.
--
--   select * from credits.grant_daily_credits();

create or replace function credits.grant_daily_credits(day date default null)
returns table (accounts_granted integer)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set work_mem = '64MB'
as $$
declare
  v_now timestamptz := credits.now();
  v_actor text := credits_private._actor();
  v_new_balances bigint;
begin
  -- Balance rows for accounts that never had the credit type, so that the
  -- next statement can lock every row it changes. Sorted, like the locks.
  -- An account whose stored period has ended is taken as settling would
  -- leave it (credits_private._as_settled: a plan scheduled for the
  -- period's end), as the lazy path and the reads do.
  insert into credits_private.balances (account_id, credit_type, updated_at)
  select a.account_id, e.key, v_now
  from credits_private.accounts a
  cross join lateral (select case when a.period_end > v_now then a.plan
                                  else (credits_private._as_settled(a, v_now)).plan end as plan) st
  join credits_private.plans p on p.code = st.plan
  cross join lateral jsonb_each(p.daily_allowance) e
  where p.daily_allowance <> '{}'::jsonb
    and a.status = 'active'
    and (grant_daily_credits.day is null or (v_now at time zone a.timezone)::date = grant_daily_credits.day)
    and not exists (select
                    from credits_private.balances b
                    where b.account_id = a.account_id and b.credit_type = e.key)
  order by a.account_id, e.key
  on conflict on constraint balances_pkey do nothing;
  -- Many new rows (a first run, a bulk import): the planner must know, or
  -- it would join them as if there were none.
  get diagnostics v_new_balances = row_count;
  if v_new_balances > 10000 then
    analyze credits_private.balances;
  end if;

  -- The balance row lock comes before the grant, as everywhere (the lazy
  -- path in credits_private._settle_daily too): a grant another
  -- transaction issued before we got the lock makes our insert do nothing,
  -- and its balance is left alone. Balances with something to settle (a
  -- grant that ended, yesterday's daily among them) are not settled here:
  -- the new grant's ledger row chains on the materialized balance, and
  -- settle_at stays due, so the account's next change or expire_grants
  -- writes the expiry. The period counters follow _add_grant: the daily
  -- grant counts in the period settling would leave.
  with allowance as materialized (
    select p.code as plan, e.key as credit_type, e.value::numeric as amount
    from credits_private.plans p
    cross join lateral jsonb_each(p.daily_allowance) e
    where p.daily_allowance <> '{}'::jsonb
  ), settled as (
    -- Active accounts, those whose stored period has ended as settling
    -- would leave them (offset 0: _as_settled once per such account).
    select a.account_id, a.timezone, (v_now at time zone a.timezone)::date as local_day,
           case when a.period_end > v_now then a.plan else (a.settled).plan end as plan,
           case when a.period_end > v_now then a.period_start else (a.settled).period_start end as period_start
    from (select a0.*, case when a0.period_end <= v_now then credits_private._as_settled(a0, v_now) end as settled
          from credits_private.accounts a0
          where a0.status = 'active'
          offset 0) a
  ), due as materialized (
    -- Who gets a daily grant, set-based: the twin of credits_private._daily_due.
    select a.account_id, al.credit_type, al.amount, al.plan, a.local_day,
           (a.local_day + 1)::timestamp at time zone a.timezone as expires_at, a.period_start
    from settled a
    join allowance al on al.plan = a.plan
    where (grant_daily_credits.day is null or a.local_day = grant_daily_credits.day)
      and not exists (select
                      from credits_private.grants g
                      where g.account_id = a.account_id
                        and g.credit_type = al.credit_type
                        and g.source = 'daily'
                        and g.local_day = a.local_day)
  ), locked as materialized (
    -- Pools last: a member's debit locks the member's balance, then its
    -- pool's (db/README.md, "Lock order").
    select b.account_id, b.credit_type, b.debt
    from credits_private.balances b
    join due d on d.account_id = b.account_id and d.credit_type = b.credit_type
    left join credits_private.pools p on p.account_id = b.account_id
    order by p.account_id is not null, b.account_id, b.credit_type
    for update of b
  ), created as (
    insert into credits_private.grants
      (account_id, credit_type, source, amount, remaining, priority, starts_at, expires_at, local_day, reason,
       created_at)
    -- A balance in debt: the grant repays it first (credits_private._add_grant).
    select d.account_id, d.credit_type, 'daily', d.amount, d.amount - least(d.amount, l.debt),
           credits_private._default_priority('daily'),
           v_now, d.expires_at, d.local_day,
           format('daily allowance of plan %s for %s', d.plan, d.local_day), v_now
    from due d
    join locked l on l.account_id = d.account_id and l.credit_type = d.credit_type
    on conflict (account_id, credit_type, local_day) where source = 'daily' do nothing
    returning grants.account_id, grants.credit_type, grants.grant_id, grants.amount, grants.expires_at,
              grants.reason, grants.amount - grants.remaining as repaid
  ), moved as (
    update credits_private.balances b
    set balance = b.balance + c.amount,
        debt = b.debt - c.repaid,
        settle_at = least(b.settle_at, c.expires_at),
        period_granted = credits_private._period_counter(b.period_granted, b.period_start, d.period_start) + c.amount,
        period_used = credits_private._period_counter(b.period_used, b.period_start, d.period_start),
        period_start = d.period_start,
        updated_at = v_now
    from created c
    join due d on d.account_id = c.account_id and d.credit_type = c.credit_type
    where b.account_id = c.account_id and b.credit_type = c.credit_type
    returning b.account_id, b.credit_type, b.balance, b.held, b.settle_at, c.grant_id, c.amount, c.reason, c.repaid,
              -- What is left of the grants that have ended but are not yet
              -- settled (yesterday's daily grant, mostly), where `written`
              -- needs it: one probe of the open grants per such row. (A
              -- join of two CTEs here was planned as a nested loop when
              -- their estimates were 1 row: quadratic at a million rows.)
              case when b.settle_at <= v_now and b.held = 0 then
                (select coalesce(sum(g.remaining), 0)
                 from credits_private.grants g
                 where g.account_id = b.account_id and g.credit_type = b.credit_type
                   and g.is_open and g.expires_at <= v_now) end as ended_remaining
  ), written as (
    -- The ledger rows in bulk (one at a time: credits_private._write_ledger).
    insert into credits_private.ledger_entries
      (account_id, credit_type, kind, amount, balance_before, balance_after, available_after, grant_id, debt, actor,
       reason, metadata, created_at)
    select m.account_id, m.credit_type, 'grant', m.amount, m.balance - m.amount, m.balance,
           -- What is available after the grant. Nothing to settle: every
           -- open grant counts and no hold has lapsed, so the balance less
           -- what is held. Something to settle but nothing held (so no
           -- grant has an earmark): the balance less what is left of the
           -- grants that ended. Else _available (CASE calls it only for
           -- those rows), which cannot see this statement's grant.
           case when m.settle_at > v_now then m.balance - m.held
                when m.held = 0 then m.balance - m.ended_remaining
                else credits_private._available(m.account_id, m.credit_type, v_now) + m.amount end,
           m.grant_id, -nullif(m.repaid, 0), v_actor, m.reason, '{"source": "daily"}'::jsonb, v_now
    from moved m
    order by m.account_id, m.credit_type
    returning ledger_entries.account_id
  )
  select count(distinct w.account_id)::integer into accounts_granted
  from written w;
  return next;
end
$$;

comment on function credits.grant_daily_credits(date) is
  'Issues the daily allowances, one grant per active account, credit type and local day, ending at its next local midnight, and returns the accounts granted; service, run by pg_cron.';
revoke all on function credits.grant_daily_credits(date) from public;
grant execute on function credits.grant_daily_credits(date) to credits_service;
