-- credits_private._end_hold(hold, status, charge, at): ends a hold under its
-- balance lock: gives every earmark back to its grant (grants.held,
-- balances.held), and for a capture (status captured, charge > 0) draws
-- `charge` from the earmarked grants in earmark order, even those that have
-- ended, writing one `capture` ledger row. Whatever an ended grant gets back
-- is written off at once. A released or lapsed hold gives its per-period
-- use back. A capture counts toward used_this_period of `period_start`, the
-- account's current period. The capture row of a pool's share names the
-- member (hold.member_id); a member's names the pool and the pool's
-- capture row (hold.pool_id, pool_entry_id). Returns the capture's ledger
-- entry id, or null.
-- A capture's caller has settled the balance at `at` (_lock_balance), so
-- what is available after it is the balance row's balance less held, less
-- what ended grants got back and lose at once (written off below): the
-- capture row says so without _available's sum over the grants. The
-- statement that gives the earmarks back names those ended grants (none,
-- on the common path, which reads no grant again).

create or replace function credits_private._end_hold(hold credits_private.holds, status text, charge numeric,
                                                     at timestamptz, metadata jsonb default '{}',
                                                     period_start timestamptz default null,
                                                     pool_entry_id bigint default null)
returns bigint
language plpgsql
as $$
declare
  v_balance credits_private.balances;
  v_draws jsonb;
  v_entry_id bigint;
  -- Earmarked grants that have ended (expired or voided) and got back
  -- more than other holds still earmark, and how much: written off below.
  v_ended bigint[];
  v_lapse numeric;
  v_ended_grant record;
begin
  -- Earmarks back, and the charge drawn, in one statement over the grants.
  with earmark as (
    select e.grant_id, e.amount,
           least(e.amount, greatest(charge - coalesce(sum(e.amount) over (order by e.n rows between unbounded
                                                                                preceding and 1 preceding), 0), 0))
             as take,
           e.n
    from rows from (jsonb_to_recordset(hold.earmarks) as (grant_id bigint, amount numeric))
         with ordinality as e (grant_id, amount, n)
  ), drawn as (
    update credits_private.grants g
    set held = g.held - earmark.amount, remaining = g.remaining - earmark.take
    from earmark
    where g.account_id = hold.account_id and g.grant_id = earmark.grant_id
    returning earmark.n, g.grant_id, earmark.take, g.remaining - g.held as unheld,
              (g.expired_at is not null or g.voided_at is not null) and g.remaining > g.held as ended
  )
  select jsonb_agg(jsonb_build_object('grant_id', drawn.grant_id, 'amount', drawn.take) order by drawn.n)
           filter (where drawn.take > 0),
         array_agg(drawn.grant_id order by drawn.grant_id) filter (where drawn.ended),
         coalesce(sum(drawn.unheld) filter (where drawn.ended), 0)
  into v_draws, v_ended, v_lapse
  from drawn;

  update credits_private.balances b
  set held = b.held - hold.amount,
      balance = b.balance - charge,
      period_used = case when charge = 0 then b.period_used
                         else credits_private._period_counter(b.period_used, b.period_start, _end_hold.period_start)
                              + charge end,
      period_granted = case when charge = 0 then b.period_granted
                            else credits_private._period_counter(b.period_granted, b.period_start,
                                                                 _end_hold.period_start) end,
      period_start = case when charge = 0 then b.period_start else _end_hold.period_start end,
      updated_at = at
  where b.account_id = hold.account_id and b.credit_type = hold.credit_type
  returning b.* into v_balance;

  if status = 'captured' then
    v_entry_id := credits_private._write_ledger(v_balance, 'capture', -charge, at,
                                                available => v_balance.balance - v_balance.held - v_lapse,
                                                feature => hold.feature,
                                                units => hold.units, draws => coalesce(v_draws, '[]'::jsonb),
                                                reason => format('capture of hold %s', hold.hold_id),
                                                metadata => metadata, member_id => hold.member_id,
                                                pool_id => hold.pool_id, pool_entry_id => pool_entry_id);
  elsif hold.counted_period is not null then
    update credits_private.period_usage u
    set used_count = u.used_count - 1
    where u.account_id = hold.account_id and u.period_start = hold.counted_period and u.feature = hold.feature
      and u.used_count > 0;
  end if;

  update credits_private.holds h
  set status = _end_hold.status, captured = case when _end_hold.status = 'captured' then charge end,
      capture_entry_id = v_entry_id, ended_at = at
  where h.account_id = hold.account_id and h.hold_id = hold.hold_id;

  -- What came back to grants that have ended leaves the balance now.
  if v_ended is not null then
    for v_ended_grant in
      select g.grant_id, case when g.voided_at is not null then 'void' else 'expiry' end as kind
      from credits_private.grants g
      where g.account_id = hold.account_id and g.grant_id = any (v_ended)
      order by g.grant_id
    loop
      perform credits_private._write_off_grant(hold.account_id, hold.credit_type, v_ended_grant.grant_id,
                                               v_ended_grant.kind,
                                               format('grant %s had ended; hold %s %s', v_ended_grant.grant_id,
                                                      hold.hold_id, status),
                                               at);
    end loop;
  end if;
  return v_entry_id;
end
$$;
