-- credits_private.tg_balances__emit_events(): the balance events of SPEC §1,
-- from every statement that changes a balance row, whichever function or
-- job it was (a debit, a grant, a hold, an expiry, a void, a refund, a
-- renewal, the set-based daily job). An AFTER ... FOR EACH STATEMENT
-- trigger with transition tables, so the daily job's million rows are one
-- INSERT; a statement that moved one row (a debit, the common case) is
-- handled on its own, in a few expressions and at most two small queries.
--
-- What each row's move emits is credits_private._balance_event_kinds. Each
-- is a transition between the row's state before and after the statement,
-- read under the row lock every writer takes, so each crossing is emitted
-- exactly once, in the transaction that caused it. One outbox row per event
-- and a NOTIFY carrying the account id, the kind and the event id, but only
-- for accounts a live subscriber watches (_watched): an account nobody
-- watches gets its crossings written, and neither balance_changed rows nor
-- notifications, so its commits do not queue for the notify lock. Balance
-- rows are created empty (credits_private._lock_balance,
-- grant_daily_credits), so INSERT needs no trigger.

create or replace function credits_private.tg_balances__emit_events()
returns trigger
language plpgsql
as $$
declare
  v_one record;
  v_kinds text[];
  v_watched boolean;
  v_event record;
  -- NOTIFY for balance_changed too, unless the database says otherwise
  -- (docs/decisions.md, "Events").
  v_notify_all boolean := coalesce(current_setting('credits.notify_balance_changed', true), '') <> 'off';
  v_any_watcher boolean;
  v_emitted integer;
  -- The balance's overdraft limit, where it can decide depleted or
  -- recovered (credits_private._floor_decides): only then is it read.
  v_floor numeric := 0;
begin
  -- One row moved: its states before and after, and how many rows moved
  -- (a pair taken without a join, which is the pair when one row moved: a
  -- hash join costs more to start than the row takes to read).
  select (select count(*) from new_rows) as moved, n.account_id, n.credit_type, n.updated_at,
         o.balance - o.held as available_before, n.balance - n.held as available, o.held as held_before, n.held,
         case when o.period_start is not distinct from n.period_start then o.period_used else 0 end as used_before,
         n.period_used as used,
         case when o.period_start is not distinct from n.period_start then o.period_granted else 0 end
           as granted_before,
         n.period_granted as granted, o.period_start is null as was_empty
  into v_one
  from new_rows n, old_rows o
  limit 1;
  if not found then
    return null;  -- the statement moved no row (a conditional UPDATE that did not match)
  end if;
  if v_one.moved = 1 then
    -- A quiet move (the common one) can only be a balance_changed, which
    -- only a watched account writes: an unwatched account's move ends
    -- here, before the crossing rule is evaluated.
    if credits_private._quiet_move(v_one.available_before, v_one.available, v_one.used, v_one.granted) then
      v_watched := credits_private._watched(v_one.account_id, v_one.updated_at);
      if not v_watched then
        return null;
      end if;
    end if;
    if credits_private._floor_decides(v_one.available_before, v_one.available, v_one.was_empty) then
      v_floor := credits_private._overdraft(v_one.account_id, v_one.credit_type);
    end if;
    v_kinds := credits_private._balance_event_kinds(v_one.available_before + v_floor, v_one.available + v_floor,
                                                    v_one.held_before,
                                                    v_one.held, v_one.used_before, v_one.used,
                                                    v_one.granted_before, v_one.granted, v_one.was_empty);
    if cardinality(v_kinds) = 0 then
      return null;
    end if;
    v_watched := coalesce(v_watched, credits_private._watched(v_one.account_id, v_one.updated_at));
    if not v_watched then
      v_kinds := array_remove(v_kinds, 'balance_changed');
      if cardinality(v_kinds) = 0 then
        return null;  -- a move of an account nobody watches that crossed nothing: no statement more
      end if;
    end if;
    for v_event in
      insert into credits_private.events (account_id, kind, credit_type, payload, created_at)
      select v_one.account_id, split_part(k.kind, ':', 1), v_one.credit_type,
             jsonb_build_object('available', v_one.available, 'held', v_one.held,
                                'used_this_period', v_one.used, 'granted_this_period', v_one.granted)
               || case when k.kind like 'threshold_crossed:%'
                       then jsonb_build_object('threshold', split_part(k.kind, ':', 2)::integer)
                       else '{}'::jsonb end,
             v_one.updated_at
      from unnest(v_kinds) with ordinality k (kind, n)
      order by k.n
      returning events.kind, events.event_id
    loop
      if v_watched and (v_event.kind <> 'balance_changed' or v_notify_all) then
        perform pg_notify('credits_events', json_build_object('account_id', v_one.account_id,
                                                              'kind', v_event.kind, 'seq', v_event.event_id)::text);
      end if;
    end loop;
    return null;
  end if;

  -- Many rows (the daily job): the same, set-based.
  v_any_watcher := exists (select from credits_private.event_watchers w
                           where w.watched_until is null or w.watched_until > credits.now());
  with sides as (
    -- The row before and after, paired by grouping rather than by a join:
    -- the transition tables have no statistics, and the plan must not
    -- become a nested loop over the daily job's million rows.
    select n.account_id, n.credit_type, true as after, n.balance, n.held, n.period_start, n.period_used,
           n.period_granted, n.updated_at
    from new_rows n
    union all
    select o.account_id, o.credit_type, false, o.balance, o.held, o.period_start, o.period_used,
           o.period_granted, o.updated_at
    from old_rows o
  ), pairs as (
    select s.account_id, s.credit_type,
           max(s.updated_at) filter (where s.after) as updated_at,
           max(s.balance - s.held) filter (where not s.after) as available_before,
           max(s.balance - s.held) filter (where s.after) as available,
           max(s.held) filter (where not s.after) as held_before,
           max(s.held) filter (where s.after) as held,
           max(s.period_start) filter (where not s.after) as period_start_before,
           max(s.period_start) filter (where s.after) as period_start,
           max(s.period_used) filter (where not s.after) as used_before,
           max(s.period_used) filter (where s.after) as used,
           max(s.period_granted) filter (where not s.after) as granted_before,
           max(s.period_granted) filter (where s.after) as granted
    from sides s
    group by s.account_id, s.credit_type
  ), floored as materialized (
    -- Each pair's overdraft limit, read once and only where it can decide
    -- depleted or recovered (_floor_decides), as the one-row path reads
    -- it. Materialized, so that the crossing rule's arguments are plain
    -- columns: with _overdraft inside them the planner does not inline
    -- _balance_event_kinds and calls it, with its arguments, row by row.
    select p.*,
           case when credits_private._floor_decides(p.available_before, p.available,
                                                    p.period_start_before is null)
                then credits_private._overdraft(p.account_id, p.credit_type) else 0 end as floor
    from pairs p
  ), moved as materialized (
    -- Materialized too: the rule's kinds are read twice below (the filter
    -- and the unnest), and are computed once.
    select p.*,
           -- The set-based twin of credits_private._watched.
           v_any_watcher and exists (select
                                     from credits_private.event_watchers w
                                     where w.account_id = any (array[p.account_id, '*'])
                                       and (w.watched_until is null or w.watched_until > p.updated_at)) as watched,
           credits_private._balance_event_kinds(
             p.available_before + p.floor, p.available + p.floor, p.held_before, p.held,
             case when p.period_start_before is not distinct from p.period_start then p.used_before else 0 end,
             p.used,
             case when p.period_start_before is not distinct from p.period_start then p.granted_before else 0 end,
             p.granted, p.period_start_before is null) as kinds
    from floored p
  ), emitted as (
    insert into credits_private.events (account_id, kind, credit_type, payload, created_at)
    select m.account_id, split_part(k.kind, ':', 1), m.credit_type,
           jsonb_build_object('available', m.available, 'held', m.held, 'used_this_period', m.used,
                              'granted_this_period', m.granted)
             || case when k.kind like 'threshold_crossed:%'
                     then jsonb_build_object('threshold', split_part(k.kind, ':', 2)::integer)
                     else '{}'::jsonb end,
           m.updated_at
    from moved m
    cross join lateral unnest(m.kinds) with ordinality k (kind, n)
    where cardinality(m.kinds) > 0 and (m.watched or k.kind <> 'balance_changed')
    order by m.account_id, m.credit_type, k.n
    returning events.account_id, events.kind, events.event_id,
              -- Only what was written for a watched account is notified.
              v_any_watcher and exists (select
                                        from credits_private.event_watchers w
                                        where w.account_id = any (array[events.account_id, '*'])
                                          and (w.watched_until is null or w.watched_until > events.created_at))
                as watched
  )
  select count(pg_notify('credits_events',
                          json_build_object('account_id', emitted.account_id, 'kind', emitted.kind,
                                            'seq', emitted.event_id)::text))
  into v_emitted
  from emitted
  where emitted.watched and (emitted.kind <> 'balance_changed' or v_notify_all);
  return null;
end
$$;

create or replace trigger balances_emit_events
  after update on credits_private.balances
  referencing old table as old_rows new table as new_rows
  for each statement
  execute function credits_private.tg_balances__emit_events();
