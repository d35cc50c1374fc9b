-- credits_private._check_caps(caps): a member's caps as stored: a JSON
-- object of credit type -> the most the member may take from its pool in
-- one of the pool's periods, a number of at least 0 (0: nothing from the
-- pool) with at most 6 decimal places; null or absent: no cap. SQL null
-- is {} (no cap at all). Errors: PT422 not an object, a cap that is not a
-- number, a bad amount (naming the credit type and the value); PT404 an
-- unknown credit type. Returns the caps without the null ones, rounded.
--
--   select credits_private._check_caps('{"credits": 50, "analysis": null}');  -- {"credits": 50}

create or replace function credits_private._check_caps(caps jsonb)
returns jsonb
language plpgsql
stable
as $$
declare
  v_cap record;
  v_caps jsonb := '{}';
begin
  if caps is null then
    return v_caps;
  end if;
  if jsonb_typeof(caps) <> 'object' then
    raise exception 'caps must be a JSON object of credit type to cap, got %', credits_private._shown(caps::text)
      using errcode = 'PT422', hint = 'Pass caps such as {"credits": 50}; null or {} for no cap.';
  end if;
  for v_cap in select e.key, e.value from jsonb_each(caps) e order by e.key loop
    perform credits_private._require_credit_type(v_cap.key);
    continue when jsonb_typeof(v_cap.value) = 'null';
    if jsonb_typeof(v_cap.value) <> 'number' then
      raise exception 'the cap for credit type % must be a number, got %', v_cap.key,
                      credits_private._shown(v_cap.value::text)
        using errcode = 'PT422', hint = 'Pass caps such as {"credits": 50}; null for no cap.';
    end if;
    v_caps := v_caps || jsonb_build_object(v_cap.key, credits_private._check_amount(
      (v_cap.value #>> '{}')::numeric, format('the cap for credit type %s', v_cap.key), allow_zero => true));
  end loop;
  return v_caps;
end
$$;
