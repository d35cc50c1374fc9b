-- credits_private.tg_balances__emit_events(): the balance events of SPEC §1, from
-- every statement that changes a balance row, whichever function or job it
-- was (a debit, a grant, a hold, an expiry, a void, a refund, a renewal,
-- the set-based daily job). An AFTER ... FOR EACH STATEMENT trigger with
-- transition tables, so the daily job's million rows are one INSERT.
--
-- For each balance row whose balance, hold or period counters moved, in
-- this order:
--   balance_changed    what is available (balance less held) or held moved
--   threshold_crossed  the period's usage rose through 80 %, 90 % or 100 %
--                      of the credits granted in the period (payload
--                      threshold); a new period starts from zero
--   depleted           available fell from above zero to zero
--   recovered          available rose from zero (a row that never held
--                      credits, period_start null, is not recovering)
-- Each is a transition between the row's state before and after the
-- statement, read under the row lock every writer takes, so each crossing
-- is emitted exactly once, in the transaction that caused it. One outbox row
-- per event and a NOTIFY carrying the account id, the kind and the event id,
-- but only for accounts a live subscriber watches (_watched): an account
-- nobody watches gets its crossings written, and neither balance_changed
-- rows nor notifications, so its commits do not queue for the notify lock.
-- Balance rows are created empty (credits_private._lock_balance,
-- grant_daily_credits), so INSERT needs no trigger.

create or replace function credits_private.tg_balances__emit_events()
returns trigger
language plpgsql
as $$
declare
  v_emitted integer;
  -- Is anyone watching anything? When not, the statement below needs no
  -- probe per row (the common case of a backend without a gateway).
  v_any_watcher boolean := exists (select from credits_private.event_watchers w
                                   where w.watched_until is null or w.watched_until > credits.now());
  -- NOTIFY for balance_changed too, unless the database says otherwise
  -- (see the header and docs/decisions.md, "Events").
  v_notify_all boolean := coalesce(current_setting('credits.notify_balance_changed', true), '') <> 'off';
begin
  with sides as (
    -- The row before and after, paired by grouping rather than by a join:
    -- the transition tables have no statistics, and a plan cached for a
    -- one-row debit must not become a nested loop over the daily job's
    -- million rows.
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
           max(s.balance) filter (where not s.after) as balance_before,
           max(s.balance) filter (where s.after) as balance,
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
  ), moved as (
    select p.account_id, p.credit_type, p.updated_at,
           p.balance_before - p.held_before as available_before, p.balance - p.held as available,
           p.held_before, p.held,
           p.period_start_before is null as was_empty,
           -- Usage before counts only in the same period as after.
           case when p.period_start_before is not distinct from p.period_start then p.used_before else 0 end
             as used_before,
           case when p.period_start_before is not distinct from p.period_start then p.granted_before else 0 end
             as granted_before,
           p.used, p.granted
    from pairs p
    where (p.balance, p.held, p.used, p.granted, p.period_start)
          is distinct from (p.balance_before, p.held_before, p.used_before, p.granted_before, p.period_start_before)
  ), watched as (
    -- The set-based twin of credits_private._watched.
    select m.*,
           v_any_watcher and exists (select
                                     from credits_private.event_watchers w
                                     where w.account_id = any (array[m.account_id, '*'])
                                       and (w.watched_until is null or w.watched_until > m.updated_at)) as watched
    from moved m
  ), emitted as (
    insert into credits_private.events (account_id, kind, credit_type, payload, created_at)
    select m.account_id, e.kind, m.credit_type,
           jsonb_build_object('available', m.available, 'held', m.held, 'used_this_period', m.used,
                              'granted_this_period', m.granted)
             || case when e.threshold is null then '{}'::jsonb
                     else jsonb_build_object('threshold', e.threshold) end,
           m.updated_at
    from watched m
    cross join lateral (values
      (1, 'balance_changed', null::integer, m.available <> m.available_before or m.held <> m.held_before),
      (2, 'threshold_crossed', 80, m.granted > 0 and m.used * 10 >= m.granted * 8
                                   and not (m.granted_before > 0 and m.used_before * 10 >= m.granted_before * 8)),
      (3, 'threshold_crossed', 90, m.granted > 0 and m.used * 10 >= m.granted * 9
                                   and not (m.granted_before > 0 and m.used_before * 10 >= m.granted_before * 9)),
      (4, 'threshold_crossed', 100, m.granted > 0 and m.used >= m.granted
                                    and not (m.granted_before > 0 and m.used_before >= m.granted_before)),
      (5, 'depleted', null, m.available_before > 0 and m.available <= 0),
      (6, 'recovered', null, not m.was_empty and m.available_before <= 0 and m.available > 0)
    ) e(ord, kind, threshold, happened)
    where e.happened and (m.watched or e.kind <> 'balance_changed')
    order by m.account_id, m.credit_type, e.ord
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
