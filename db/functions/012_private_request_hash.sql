-- credits_private._request_hash(call): a fingerprint of a call's arguments,
-- stored with its idempotency key so a retry with other arguments is told
-- apart (PT409). Numbers are compared by value, at any depth of the JSON:
-- 5, 5.0 and 5.000000 are equal. Callers pass times as epoch seconds, so the
-- session's time zone does not matter.

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

create or replace function credits_private._request_hash(call jsonb)
returns uuid
language sql
immutable
as $$
  select md5(credits_private._canonical_json(call)::text)::uuid
$$;
