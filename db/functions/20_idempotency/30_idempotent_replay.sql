-- credits_private._idempotent_replay(account_id, idempotency_key, request_hash):
-- the ledger row first stored under this key, or null. The same key with
-- other arguments raises PT409, and so does a key a hold was made with (one
-- key namespace per account). Call it holding the balance lock, so a
-- concurrent first call has either committed or not started.

create or replace function credits_private._idempotent_replay(account_id text, idempotency_key text,
                                                              request_hash uuid)
returns credits_private.ledger_entries
language plpgsql
stable
as $$
declare
  v_entry credits_private.ledger_entries;
begin
  perform credits_private._check_key(idempotency_key, 'idempotency_key');
  select l.* into v_entry
  from credits_private.ledger_entries l
  where l.account_id = _idempotent_replay.account_id
    and l.idempotency_key = _idempotent_replay.idempotency_key;
  if found and v_entry.request_hash is distinct from request_hash then
    perform credits_private._raise_key_reused(account_id, idempotency_key,
                                              format('first used by ledger row %s (%s)', v_entry.entry_id,
                                                     v_entry.kind));
  end if;
  if not found and exists (select from credits_private.holds h
                           where h.account_id = _idempotent_replay.account_id
                             and h.idempotency_key = _idempotent_replay.idempotency_key) then
    perform credits_private._raise_key_reused(account_id, idempotency_key, 'first used by reserve_credits');
  end if;
  return v_entry;
end
$$;
