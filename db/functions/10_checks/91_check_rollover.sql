-- credits_private._check_rollover(rollover): a plan's rollover rules as
-- stored: a JSON object of credit type -> {"max": amount of at least 0
-- (absent: no cap), "fraction": a number above 0 and at most 1 (absent:
-- 1)}, at least one of the two. Errors: PT422 not an object, a rule that is
-- not an object, an unknown key in a rule, a bad max or fraction (naming the
-- credit type and the value); PT404 an unknown credit type. Returns the
-- rules, amounts rounded as stored.
--
--   select credits_private._check_rollover('{"credits": {"max": 100, "fraction": 0.5}}');

create or replace function credits_private._check_rollover(rollover jsonb)
returns jsonb
language plpgsql
stable
as $$
declare
  v_rule record;
  v_rules jsonb := '{}';
  v_checked jsonb;
  v_fraction numeric;
begin
  if rollover is null or jsonb_typeof(rollover) <> 'object' then
    raise exception 'rollover must be a JSON object keyed by credit type, got %',
                    credits_private._shown(coalesce(rollover::text, 'null'))
      using errcode = 'PT422', hint = 'Pass rollover like {"credits": {"max": 100, "fraction": 0.5}}.';
  end if;
  for v_rule in select e.key, e.value from jsonb_each(rollover) e order by e.key loop
    perform credits_private._require_credit_type(v_rule.key);
    if jsonb_typeof(v_rule.value) <> 'object' or v_rule.value = '{}'::jsonb
       or exists (select from jsonb_object_keys(v_rule.value) k where k not in ('max', 'fraction')) then
      raise exception 'the rollover rule for credit type % must be an object with max and/or fraction, got %',
                      v_rule.key, credits_private._shown(v_rule.value::text)
        using errcode = 'PT422', detail = 'max: the most that rolls over (no cap when absent); fraction: the share of the unused allowance that rolls (1 when absent).',
              hint = 'Pass a rule like {"max": 100, "fraction": 0.5}.';
    end if;
    v_checked := '{}';
    if v_rule.value ? 'max' then
      if jsonb_typeof(v_rule.value -> 'max') <> 'number' then
        raise exception 'rollover max for credit type % must be a number, got %', v_rule.key,
                        credits_private._shown((v_rule.value -> 'max')::text)
          using errcode = 'PT422', hint = 'Pass max as an amount of 0 or more, or leave it out for no cap.';
      end if;
      v_checked := jsonb_build_object('max', credits_private._check_amount(
        (v_rule.value ->> 'max')::numeric, format('rollover max for credit type %s', v_rule.key), allow_zero => true));
    end if;
    if v_rule.value ? 'fraction' then
      v_fraction := case when jsonb_typeof(v_rule.value -> 'fraction') = 'number'
                         then (v_rule.value ->> 'fraction')::numeric end;
      if v_fraction is null or not (v_fraction > 0 and v_fraction <= 1) then
        raise exception 'rollover fraction for credit type % must be above 0 and at most 1, got %', v_rule.key,
                        credits_private._shown((v_rule.value -> 'fraction')::text)
          using errcode = 'PT422', detail = 'fraction is the share of the unused monthly allowance that rolls over.',
                hint = 'Pass fraction like 0.5, or leave it out to roll all of it (up to max).';
      end if;
      v_checked := v_checked || jsonb_build_object('fraction', v_fraction);
    end if;
    v_rules := v_rules || jsonb_build_object(v_rule.key, v_checked);
  end loop;
  return v_rules;
end
$$;
