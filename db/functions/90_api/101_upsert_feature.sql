-- credits.upsert_feature(code, credit_type, base_cost, unit_rates, description):
-- creates or updates a feature and its price: base_cost per call plus
-- unit_rates per unit ({"input_tokens": 0.002, "output_tokens": 0.008}).
-- Admin only. Errors: PT404 unknown credit type; PT422 bad code, negative
-- or over-precise base cost, rates that are not non-negative numbers.
--
--   select * from credits.upsert_feature('video_render', 'credits', 0, '{"seconds": 0.5}');

create or replace function credits.upsert_feature(code text, credit_type text default 'credits',
                                                  base_cost numeric default 1, unit_rates jsonb default '{}',
                                                  description text default null)
returns credits.features
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_bad text;
  v_row credits.features;
begin
  if code is null or code !~ '^[a-z][a-z0-9_.:-]{0,62}$' then
    raise exception 'invalid feature code %', credits_private._shown(code)
      using errcode = 'PT422', hint = 'Use lower-case letters, digits and _ . : -, starting with a letter.';
  end if;
  perform credits_private._require_credit_type(credit_type);
  perform credits_private._check_amount(base_cost, 'base_cost', allow_zero => true);
  if unit_rates is null or jsonb_typeof(unit_rates) <> 'object' then
    raise exception 'unit_rates must be a JSON object, got %', credits_private._shown(unit_rates::text)
      using errcode = 'PT422', hint = 'Pass rates like {"seconds": 0.5}.';
  end if;
  select r.key into v_bad
  from jsonb_each(unit_rates) r
  where jsonb_typeof(r.value) <> 'number' or r.value::numeric < 0 or r.key !~ '^[a-z][a-z0-9_]{0,62}$'
  limit 1;
  if v_bad is not null then
    raise exception 'unit rate % of feature % must be a number of 0 or more with a lower-case name: %',
                    v_bad, code, unit_rates -> v_bad
      using errcode = 'PT422', hint = 'Pass rates like {"seconds": 0.5}.';
  end if;

  insert into credits_private.features as f
    (code, credit_type, base_cost, unit_rates, description, created_at, updated_at)
  values (code, credit_type, base_cost, unit_rates, description, credits.now(), credits.now())
  on conflict on constraint features_pkey
  do update set credit_type = excluded.credit_type, base_cost = excluded.base_cost,
                unit_rates = excluded.unit_rates, description = excluded.description,
                updated_at = excluded.updated_at;
  select f.* into v_row from credits.features f where f.code = upsert_feature.code;
  return v_row;
end
$$;

comment on function credits.upsert_feature(text, text, numeric, jsonb, text) is
  'Creates or updates a feature: its credit type and its price, base_cost per call plus unit_rates per unit, rounded up to 6 decimals; admin only.';
revoke all on function credits.upsert_feature(text, text, numeric, jsonb, text) from public;
grant execute on function credits.upsert_feature(text, text, numeric, jsonb, text) to credits_admin;
