-- credits_private._check_key(value, what): a key or a reference a caller
-- stores (idempotency_key, payment_ref, a subscription event_id) is 1 to
-- 255 characters, not blank; else PT422 naming `what` and the value.
--
--   perform credits_private._check_key(idempotency_key, 'idempotency_key');

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
