-- credits_private._require_credit_type(code): raises PT404 unless the credit
-- type exists; returns the code.

create or replace function credits_private._require_credit_type(code text)
returns text
language plpgsql
stable
as $$
begin
  if not exists (select from credits_private.credit_types t where t.code = _require_credit_type.code) then
    raise exception 'unknown credit type %', credits_private._shown(code)
      using errcode = 'PT404', hint = 'Create it with credits.upsert_credit_type.';
  end if;
  return code;
end
$$;
