-- credits_private._request_hash(call): a fingerprint of a call's arguments,
-- stored with its idempotency key so a retry with other arguments is told
-- apart (PT409). Numbers are compared by value: 5 and 5.000000 are equal.

create or replace function credits_private._request_hash(call jsonb)
returns uuid
language sql
immutable
as $$
  select md5(call::text)::uuid
$$;
