-- credits_private._check_metadata(metadata), _check_key(value, what) and
-- _check_reason(reason): the limits on what a caller may store with a row,
-- so a hostile or buggy caller gets a clear PT422 instead of a CHECK
-- violation or a megabyte in the ledger. Metadata: a JSON object of at most
-- 16 kB as text. Keys and references (idempotency_key, payment_ref, a
-- subscription event_id): 1 to 255 characters. Reasons (optional, or
-- required through _require_reason): at most 1,000 characters.

create or replace function credits_private._check_metadata(metadata jsonb)
returns jsonb
language plpgsql
immutable
as $$
begin
  if metadata is null or jsonb_typeof(metadata) <> 'object' then
    raise exception 'metadata must be a JSON object, got %', left(coalesce(metadata::text, 'null'), 100)
      using errcode = 'PT422', hint = 'Pass {} or an object.';
  end if;
  if octet_length(metadata::text) > 16384 then
    raise exception 'metadata is % bytes as JSON text, at most 16384', octet_length(metadata::text)
      using errcode = 'PT422', hint = 'Keep metadata to a few ids and labels; store large payloads elsewhere.';
  end if;
  return metadata;
end
$$;

create or replace function credits_private._check_key(value text, what text)
returns text
language plpgsql
immutable
as $$
begin
  if value is null or btrim(value) = '' or length(value) > 255 then
    raise exception '% must be 1 to 255 characters, got %', what,
                    coalesce(quote_literal(left(value, 40)) || case when length(value) > 40
                                                                   then format('... (%s characters)', length(value))
                                                                   else '' end, 'null')
      using errcode = 'PT422', hint = format('Pass %s as 1 to 255 characters, such as a UUID.', what);
  end if;
  return value;
end
$$;

create or replace function credits_private._check_reason(reason text)
returns text
language plpgsql
immutable
as $$
begin
  if length(reason) > 1000 then
    raise exception 'a reason is at most 1000 characters, got %', length(reason)
      using errcode = 'PT422', hint = 'Say why in a sentence; put references in metadata.';
  end if;
  return reason;
end
$$;
