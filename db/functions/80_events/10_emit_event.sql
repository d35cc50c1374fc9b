-- credits_private._emit_event(account_id, kind, credit_type, payload, at):
-- one outbox row, and where a subscriber watches the account (_watched) a
-- NOTIFY on credits_events carrying only the account id, the kind and the
-- event's sequence number; listeners re-read the row under their own role.
-- Both happen in the caller's transaction or not at all.

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
    perform pg_notify('credits_events',
                      json_build_object('account_id', account_id, 'kind', kind, 'seq', v_event_id)::text);
  end if;
  return v_event_id;
end
$$;
