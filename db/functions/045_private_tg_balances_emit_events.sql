-- credits_private.tg_balances__emit_events(): the balance events of SPEC §1, from
-- every statement that changes a balance row, whichever function or job it
-- was (a debit, a grant, a hold, an expiry, a void, a refund, a renewal,
-- the set-based daily job). An AFTER ... FOR EACH STATEMENT trigger with
-- transition tables, so the daily job's million rows are one INSERT.
--
-- For each balance row whose balance, hold or period counters moved, in
-- this order:
--   balance_changed    what is available (balance less held) or held moved
--   threshold_crossed  the period's usage rose through 80 % or 90 % of the
--                      credits granted in the period (payload threshold);
--                      a new period starts from zero
--   depleted           available fell from above zero to zero
--   recovered          available rose from zero (a row that never held
--                      credits, period_start null, is not recovering)
-- Each is a transition between the row's state before and after the
-- statement, read under the row lock every writer takes, so each crossing
-- is emitted exactly once, in the transaction that caused it. One outbox row
-- per event and a NOTIFY carrying the account id, the kind and the event id.
-- Balance rows are created empty (credits_private._lock_balance,
-- grant_daily_credits), so INSERT needs no trigger.

create or replace function credits_private.tg_balances__emit_events()
returns trigger
language plpgsql
as $$
declare
  v_emitted integer;
  -- NOTIFY for balance_changed too, unless the database says otherwise
  -- (see the header and docs/decisions.md, "Events").
  v_notify_all boolean := coalesce(current_setting('credits.notify_balance_changed', true), '') <> 'off';
begin
  with moved as (
    select n.account_id, n.credit_type, n.updated_at,
           o.balance - o.held as available_before, n.balance - n.held as available,
           o.held as held_before, n.held,
           o.period_start is null as was_empty,
           -- Usage before counts only in the same period as after.
           case when o.period_start is not distinct from n.period_start then o.period_used else 0 end as used_before,
           case when o.period_start is not distinct from n.period_start then o.period_granted else 0 end
             as granted_before,
           n.period_used as used, n.period_granted as granted
    from new_rows n
    join old_rows o on o.account_id = n.account_id and o.credit_type = n.credit_type
    where (n.balance, n.held, n.period_used, n.period_granted, n.period_start)
          is distinct from (o.balance, o.held, o.period_used, o.period_granted, o.period_start)
  ), emitted as (
    insert into credits_private.events (account_id, kind, credit_type, payload, created_at)
    select m.account_id, e.kind, m.credit_type,
           jsonb_build_object('available', m.available, 'held', m.held, 'used_this_period', m.used,
                              'granted_this_period', m.granted)
             || case when e.threshold is null then '{}'::jsonb
                     else jsonb_build_object('threshold', e.threshold) end,
           m.updated_at
    from moved m
    cross join lateral (values
      (1, 'balance_changed', null::integer, m.available <> m.available_before or m.held <> m.held_before),
      (2, 'threshold_crossed', 80, m.granted > 0 and m.used * 10 >= m.granted * 8
                                   and not (m.granted_before > 0 and m.used_before * 10 >= m.granted_before * 8)),
      (3, 'threshold_crossed', 90, m.granted > 0 and m.used * 10 >= m.granted * 9
                                   and not (m.granted_before > 0 and m.used_before * 10 >= m.granted_before * 9)),
      (4, 'depleted', null, m.available_before > 0 and m.available <= 0),
      (5, 'recovered', null, not m.was_empty and m.available_before <= 0 and m.available > 0)
    ) e(ord, kind, threshold, happened)
    where e.happened
    order by m.account_id, m.credit_type, e.ord
    returning events.account_id, events.kind, events.event_id
  )
  select count(pg_notify('credits_events',
                          json_build_object('account_id', emitted.account_id, 'kind', emitted.kind,
                                            'seq', emitted.event_id)::text))
  into v_emitted
  from emitted
  where emitted.kind <> 'balance_changed' or v_notify_all;
  return null;
end
$$;

create or replace trigger balances_emit_events
  after update on credits_private.balances
  referencing old table as old_rows new table as new_rows
  for each statement
  execute function credits_private.tg_balances__emit_events();
