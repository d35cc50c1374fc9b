-- credits_private._canonical_json(value): the JSON value with every number
-- written by its value (5, 5.0 and 5.000000 are equal), at any depth, and
-- object keys in jsonb's order: what _request_hash fingerprints.
--
--   select credits_private._canonical_json('{"seconds": 8.0}');  -- {"seconds": 8}

create or replace function credits_private._canonical_json(value jsonb)
returns jsonb
-- PL/pgSQL, not SQL: a SQL function with sub-selects is not inlined, and is
-- parsed and planned again on every call; PL/pgSQL keeps its plans.
language plpgsql
immutable
as $$
begin
  return case jsonb_typeof(_canonical_json.value)
    when 'number' then to_jsonb(trim_scale(_canonical_json.value::numeric))
    when 'object' then (select coalesce(jsonb_object_agg(e.key, credits_private._canonical_json(e.value)), '{}')
                        from jsonb_each(_canonical_json.value) e)
    when 'array' then (select coalesce(jsonb_agg(credits_private._canonical_json(a.elem) order by a.n), '[]')
                       from jsonb_array_elements(_canonical_json.value) with ordinality a (elem, n))
    else _canonical_json.value
  end;
end
$$;
