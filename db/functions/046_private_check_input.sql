-- credits_private._check_metadata(metadata), _check_key(value, what) and
-- _check_reason(reason): the limits on what a caller may store with a row,
-- so a hostile or buggy caller gets a clear PT422 instead of a CHECK
-- violation or a megabyte in the ledger. Metadata: a JSON object of at most
-- 16 kB as text. Keys and references (idempotency_key, payment_ref, a
-- subscription event_id): 1 to 255 characters. Reasons (optional, or
-- required through _require_reason): at most 1,000 characters. JSON
-- (metadata, units): no value nested more than 64 levels deep, so nothing
-- that walks it later (the canonical JSON of an idempotency key, a client's
-- parser) runs out of stack.
--
-- credits_private._shown(value): a value as an error message shows it: the
-- first 60 characters and the length of anything longer than 100, so a
-- hostile argument is named without being echoed back in full.

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
  if metadata = '{}'::jsonb then
    return metadata;
  end if;
  perform credits_private._check_json_size(metadata, 'metadata');
  return metadata;
end
$$;

create or replace function credits_private._check_json_size(value jsonb, what text)
returns jsonb
language plpgsql
immutable
as $$
begin
  -- strict .** with a level walks at most 65 levels, however deep the value.
  if jsonb_path_exists(value, 'strict $.**{65}') then
    raise exception '% is nested more than 64 levels deep', what
      using errcode = 'PT422', hint = format('Pass %s as a flat object of ids and labels.', what);
  end if;
  if octet_length(value::text) > 16384 then
    raise exception '% is % bytes as JSON text, at most 16384', what, octet_length(value::text)
      using errcode = 'PT422', hint = 'Keep it to a few ids and labels; store large payloads elsewhere.';
  end if;
  return value;
end
$$;

create or replace function credits_private._shown(value text)
returns text
language sql
immutable
return case when pg_catalog.length(value) > 100
            then pg_catalog.left(value, 60) || pg_catalog.format('... (%s characters)', pg_catalog.length(value))
            else coalesce(value, 'null') end;

create or replace function credits_private._check_key(value text, what text)
returns text
language plpgsql
immutable
as $$
begin
  if value is null or btrim(value) = '' or length(value) > 255 then
    raise exception '% must be 1 to 255 characters, got %', what,
                    case when value is null then 'null' else credits_private._shown(quote_literal(value)) end
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
