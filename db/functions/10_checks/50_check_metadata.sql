-- credits_private._check_metadata(metadata): metadata stored with a row is a
-- JSON object within the limits of _check_json_size; else PT422, so a
-- hostile or buggy caller gets a clear error instead of a CHECK violation
-- or a megabyte in the ledger.
--
--   perform credits_private._check_metadata(metadata);

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
