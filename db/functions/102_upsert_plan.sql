-- credits.upsert_plan(code, signup_grant, monthly_allowance, daily_allowance,
-- unlimited, description): creates or updates a plan. Allowances are keyed
-- by credit type: {"credits": 6}. Admin only. Errors: PT404 unknown credit
-- type; PT422 bad code or an allowance that is not an amount above 0.
--
--   select * from credits.upsert_plan('free', signup_grant => '{"credits": 6}');

create or replace function credits.upsert_plan(code text, signup_grant jsonb default '{}',
                                               monthly_allowance jsonb default '{}',
                                               daily_allowance jsonb default '{}',
                                               unlimited boolean default false,
                                               description text default null)
returns credits.plans
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_allowance record;
  v_row credits.plans;
begin
  if code is null or code !~ '^[a-z][a-z0-9_.:-]{0,62}$' then
    raise exception 'invalid plan code %', credits_private._shown(code)
      using errcode = 'PT422', hint = 'Use lower-case letters, digits and _ . : -, starting with a letter.';
  end if;
  for v_allowance in
    select a.name, a.value
    from (values ('signup_grant', signup_grant), ('monthly_allowance', monthly_allowance),
                 ('daily_allowance', daily_allowance)) as a (name, value)
  loop
    if v_allowance.value is null or jsonb_typeof(v_allowance.value) <> 'object' then
      raise exception '% must be a JSON object keyed by credit type, got %', v_allowance.name, v_allowance.value
        using errcode = 'PT422', hint = 'Pass allowances like {"credits": 6}.';
    end if;
    perform credits_private._check_amount(
              case when jsonb_typeof(e.value) = 'number' then e.value::numeric end,
              format('%s.%s', v_allowance.name, e.key))
    from jsonb_each(v_allowance.value) e;
    perform credits_private._require_credit_type(k) from jsonb_object_keys(v_allowance.value) k;
  end loop;

  insert into credits_private.plans as p
    (code, signup_grant, monthly_allowance, daily_allowance, unlimited, description, created_at, updated_at)
  values
    (code, signup_grant, monthly_allowance, daily_allowance, coalesce(unlimited, false), description,
     credits.now(), credits.now())
  on conflict on constraint plans_pkey
  do update set signup_grant = excluded.signup_grant, monthly_allowance = excluded.monthly_allowance,
                daily_allowance = excluded.daily_allowance, unlimited = excluded.unlimited,
                description = excluded.description, updated_at = excluded.updated_at;
  select p.* into v_row from credits.plans p where p.code = upsert_plan.code;
  return v_row;
end
$$;

comment on function credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text) is
  'Creates or updates a plan: signup grant, monthly and daily allowances keyed by credit type, and whether it is unlimited. Admin only.';
revoke all on function credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text) from public;
grant execute on function credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text) to credits_admin;
