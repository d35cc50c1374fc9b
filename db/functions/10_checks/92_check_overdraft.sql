-- credits_private._check_overdraft(overdraft): a plan's overdraft limits as
-- stored: a JSON object of credit type -> how far below zero a debit may
-- take the balance, an amount of at least 0 with at most 6 decimals
-- (_check_amount). Errors: PT422 not an object, a limit that is not such an
-- amount (naming the credit type and the value); PT404 an unknown credit
-- type. Returns the limits, zeros left out.
--
--   select credits_private._check_overdraft('{"credits": 50}');
create or replace function credits_private._check_overdraft(overdraft jsonb)
returns jsonb
language plpgsql
stable
as $$
declare
  v_limit record;
  v_limits jsonb := '{}';
  v_amount numeric;
begin
  if overdraft is null or jsonb_typeof(overdraft) <> 'object' then
    raise exception 'overdraft must be a JSON object keyed by credit type, got %',
                    credits_private._shown(coalesce(overdraft::text, 'null'))
      using errcode = 'PT422', detail = 'Each value is how far below zero a debit may take that balance.',
            hint = 'Pass overdraft like {"credits": 50}.';
  end if;
  for v_limit in select e.key, e.value from jsonb_each(overdraft) e order by e.key loop
    perform credits_private._require_credit_type(v_limit.key);
    if jsonb_typeof(v_limit.value) <> 'number' then
      raise exception 'overdraft for credit type % must be a number, got %', v_limit.key,
                      credits_private._shown(v_limit.value::text)
        using errcode = 'PT422', detail = 'The limit is how far below zero a debit may take the balance.',
              hint = 'Pass the limit as an amount of 0 or more, like {"credits": 50}.';
    end if;
    v_amount := credits_private._check_amount((v_limit.value #>> '{}')::numeric,
                                              format('overdraft for credit type %s', v_limit.key),
                                              allow_zero => true);
    if v_amount > 0 then
      v_limits := v_limits || jsonb_build_object(v_limit.key, v_amount);
    end if;
  end loop;
  return v_limits;
end
$$;
