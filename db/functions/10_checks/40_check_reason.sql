-- credits_private._check_reason(reason): a reason (optional, or required
-- through _require_reason) is at most 1,000 characters; else PT422.
--
--   perform credits_private._check_reason(reason);

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
