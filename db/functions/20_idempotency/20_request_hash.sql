-- credits_private._request_hash(call): a fingerprint of a call's arguments,
-- stored with its idempotency key so a retry with other arguments is told
-- apart (PT409). Numbers are compared by value (_canonical_json). Callers
-- pass times as epoch seconds, so the session's time zone does not matter.
--
--   select credits_private._request_hash(jsonb_build_array('deduct_credits', 'chat', '{}'));

create or replace function credits_private._request_hash(call jsonb)
returns uuid
language sql
immutable
as $$
  select md5(credits_private._canonical_json(call)::text)::uuid
$$;
