-- credits_private._require_reason(reason, action): raises PT422 unless a
-- reason was given for an action the audit trail must explain (`action`
-- completes "a reason is required to ...").

create or replace function credits_private._require_reason(reason text, action text)
returns text
language plpgsql
immutable
as $$
begin
  if reason is null or btrim(reason) = '' then
    raise exception 'a reason is required to %', action
      using errcode = 'PT422', hint = 'Say why, for the audit trail.';
  end if;
  return credits_private._check_reason(reason);
end
$$;
