-- credits_private._feature_cost(feature, units): base_cost + sum of
-- unit_rates[u] * units[u], rounded up to the micro-credit. Raises PT422 for
-- units that are not a JSON object of non-negative numbers of at most 16 kB
-- as JSON text (like metadata: units are stored with the ledger row), or
-- that name a unit the feature has no rate for.

create or replace function credits_private._feature_cost(feature credits_private.features, units jsonb)
returns numeric
language plpgsql
stable
as $$
declare
  v_unit record;
  v_total numeric := feature.base_cost;
begin
  if units is null or units = '{}'::jsonb then
    return feature.base_cost;
  end if;
  if jsonb_typeof(units) <> 'object' then
    raise exception 'units must be a JSON object, got %', credits_private._shown(units::text)
      using errcode = 'PT422', hint = 'Pass units like {"input_tokens": 1200}.';
  end if;
  perform credits_private._check_json_size(units, 'units');
  for v_unit in select u.key, u.value from jsonb_each(units) u loop
    if not feature.unit_rates ? v_unit.key then
      raise exception 'unknown unit % for feature %', credits_private._shown(v_unit.key), feature.code
        using errcode = 'PT422',
              hint = format('Feature %s is priced by: %s.', feature.code,
                            coalesce((select string_agg(k, ', ' order by k) from jsonb_object_keys(feature.unit_rates) k),
                                     'calls only (pass no units)'));
    end if;
    if jsonb_typeof(v_unit.value) <> 'number' or v_unit.value::numeric < 0 then
      raise exception 'unit % must be a number of 0 or more, got %', v_unit.key,
                      credits_private._shown(v_unit.value::text)
        using errcode = 'PT422', hint = 'Pass each unit as a JSON number.';
    end if;
    v_total := v_total + (feature.unit_rates ->> v_unit.key)::numeric * v_unit.value::numeric;
  end loop;
  v_total := ceil(v_total * 1000000) / 1000000;
  if v_total >= 1e15 then
    raise exception 'feature % would cost % for units %, above the largest amount', feature.code,
                    credits_private._shown(v_total::text), credits_private._shown(units::text)
      using errcode = 'PT422', hint = 'Amounts must be below 10^15.';
  end if;
  return round(v_total, 6);
end
$$;
