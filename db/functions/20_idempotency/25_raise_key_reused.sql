-- credits_private._raise_key_reused(account_id, idempotency_key, detail):
-- raises the PT409 of an idempotency key used again with other arguments
-- (SPEC §2, idempotency), for every namespace that holds keys (the ledger,
-- holds). `detail` says what used it first.
--
--   perform credits_private._raise_key_reused('u_42', 'req-81', 'first used by hold 12');

create or replace function credits_private._raise_key_reused(account_id text, idempotency_key text, detail text)
returns void
language plpgsql
immutable
as $$
begin
  raise exception 'idempotency key % of account % was used with other arguments', idempotency_key, account_id
    using errcode = 'PT409', detail = detail,
          hint = 'Use a new key for a new request; retry only with the same arguments.';
end
$$;
