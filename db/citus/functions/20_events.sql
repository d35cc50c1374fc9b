-- Events on a Citus cluster (docs/scale-out.md, "Events").
--
-- The outbox rows are written on the account's node, with its other rows.
-- The notifications are not sent there: a NOTIFY on a worker reaches only
-- that worker's listeners, and a transaction that touched two workers cannot
-- PREPARE once it has notified. So on a node a notification is queued in the
-- transaction setting credits.notifications (_citus_notify), the node
-- function of the delegated call hands the queue back with its result, and
-- the coordinator's wrapper sends them there, where the gateway listens
-- (30_delegate.sql). They are still part of the transaction that caused
-- them: sent at the coordinator's commit, or not at all.

-- Queues a notification payload for the coordinator.
create or replace function credits_private._citus_notify(payload text)
returns void
language plpgsql
as $$
begin
  perform pg_catalog.set_config(
    'credits.notifications',
    (coalesce(nullif(pg_catalog.current_setting('credits.notifications', true), ''), '[]')::jsonb
      || pg_catalog.to_jsonb(payload))::text,
    true);
end
$$;

-- The queued notifications, and an empty queue.
create or replace function credits_private._citus_take_notifications()
returns jsonb
language plpgsql
as $$
declare
  v_queued jsonb := nullif(pg_catalog.current_setting('credits.notifications', true), '')::jsonb;
begin
  perform pg_catalog.set_config('credits.notifications', '', true);
  return v_queued;
end
$$;

-- credits_private._emit_event on Citus: its twin is
-- db/functions/80_events/10_emit_event.sql, with the NOTIFY queued.
create or replace function credits_private._emit_event(account_id text, kind text, credit_type text,
                                                       payload jsonb, at timestamptz)
returns bigint
language plpgsql
as $$
declare
  v_event_id bigint;
begin
  insert into credits_private.events (account_id, kind, credit_type, payload, created_at)
  values (account_id, kind, credit_type, payload, at)
  returning event_id into v_event_id;
  if credits_private._watched(account_id, at) then
    perform credits_private._citus_notify(
      json_build_object('account_id', account_id, 'kind', kind, 'seq', v_event_id)::text);
  end if;
  return v_event_id;
end
$$;

-- The balance events, row by row. The single-node trigger
-- (80_events/20_tg_balances__emit_events.sql) reads transition tables, which
-- a statement on a shard cannot join with the distributed events table; a
-- row trigger sees the row before and after and writes its events in the
-- account's own shard. What a move emits is the same rule,
-- credits_private._balance_event_kinds.
create or replace function credits_private.tg_balances__emit_events_row()
returns trigger
language plpgsql
as $$
declare
  v_same_period boolean := old.period_start is not distinct from new.period_start;
  v_floor numeric;
  v_kinds text[];
  v_watched boolean;
  v_notify_all boolean := coalesce(current_setting('credits.notify_balance_changed', true), '') <> 'off';
  v_kind text;
  v_event_id bigint;
begin
  -- The quiet move of an account nobody watches ends here, before the rule
  -- (the single-node twin's early return, docs/decisions.md).
  if credits_private._quiet_move(old.balance - old.held, new.balance - new.held, new.period_used,
                                 new.period_granted) then
    v_watched := credits_private._watched(new.account_id, new.updated_at);
    if not v_watched then
      return null;
    end if;
  end if;
  -- The overdraft limit, only where it can decide what is emitted (the single-node twin).
  v_floor := case when credits_private._floor_decides(old.balance - old.held, new.balance - new.held,
                                                      old.period_start is null)
                  then credits_private._overdraft(new.account_id, new.credit_type) else 0 end;
  v_kinds := credits_private._balance_event_kinds(
    old.balance - old.held + v_floor, new.balance - new.held + v_floor, old.held, new.held,
    case when v_same_period then old.period_used else 0 end, new.period_used,
    case when v_same_period then old.period_granted else 0 end, new.period_granted, old.period_start is null);
  if cardinality(v_kinds) = 0 then
    return null;
  end if;
  v_watched := coalesce(v_watched, credits_private._watched(new.account_id, new.updated_at));
  if not v_watched then
    v_kinds := array_remove(v_kinds, 'balance_changed');
  end if;
  -- One router INSERT per event (an INSERT ... SELECT would be planned
  -- through the coordinator).
  foreach v_kind in array v_kinds loop
    insert into credits_private.events (account_id, kind, credit_type, payload, created_at)
    values (new.account_id, split_part(v_kind, ':', 1), new.credit_type,
            jsonb_build_object('available', new.balance - new.held, 'held', new.held,
                               'used_this_period', new.period_used, 'granted_this_period', new.period_granted)
              || case when v_kind like 'threshold_crossed:%'
                      then jsonb_build_object('threshold', split_part(v_kind, ':', 2)::integer)
                      else '{}'::jsonb end,
            new.updated_at)
    returning event_id into v_event_id;
    if v_watched and (v_kind not like 'balance_changed' or v_notify_all) then
      perform credits_private._citus_notify(
        json_build_object('account_id', new.account_id, 'kind', split_part(v_kind, ':', 1),
                          'seq', v_event_id)::text);
    end if;
  end loop;
  return null;
end
$$;

drop trigger if exists balances_emit_events on credits_private.balances;
create or replace trigger balances_emit_events_row
  after update on credits_private.balances
  for each row
  execute function credits_private.tg_balances__emit_events_row();
