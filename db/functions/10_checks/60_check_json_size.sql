-- credits_private._check_json_size(value, what): JSON a caller stores
-- (metadata, units) is at most 16 kB as text and has no value nested more
-- than 64 levels deep, so nothing that walks it later (the canonical JSON of
-- an idempotency key, a client's parser) runs out of stack; else PT422
-- naming `what`.
--
--   perform credits_private._check_json_size(units, 'units');

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
