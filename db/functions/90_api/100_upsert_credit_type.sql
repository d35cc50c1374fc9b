-- credits.upsert_credit_type(code, description): creates a currency of
-- credits, or updates its description. Admin only.
-- Errors: PT422 for a code that is not lower-case letters, digits and _.
--
--   select * from credits.upsert_credit_type('analysis', 'Deep analysis runs');

create or replace function credits.upsert_credit_type(code text, description text default null)
returns credits.credit_types
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row credits.credit_types;
begin
  if code is null or code !~ '^[a-z][a-z0-9_]{0,62}$' then
    raise exception 'invalid credit type code %', credits_private._shown(code)
      using errcode = 'PT422', hint = 'Use lower-case letters, digits and _, starting with a letter.';
  end if;
  insert into credits_private.credit_types as t (code, description, created_at, updated_at)
  values (code, description, credits.now(), credits.now())
  on conflict on constraint credit_types_pkey
  do update set description = excluded.description, updated_at = excluded.updated_at
    where t.description is distinct from excluded.description;
  select c.* into v_row from credits.credit_types c where c.code = upsert_credit_type.code;
  return v_row;
end
$$;

comment on function credits.upsert_credit_type(text, text) is
  'Creates a credit type (a separate currency of credits) or updates its description; admin only.';
revoke all on function credits.upsert_credit_type(text, text) from public;
grant execute on function credits.upsert_credit_type(text, text) to credits_admin;
