-- credits.upsert_plan(code, signup_grant, monthly_allowance, daily_allowance,
-- unlimited, description, is_default, rollover, overdraft): creates or updates a plan. Allowances
-- are keyed by credit type: {"credits": 6}. is_default => true makes it the
-- default plan, the one a canceled subscription falls back to at its
-- period's end, taking the flag from the plan that had it (there is at most
-- one); null (the default) leaves the flag as it is (false for a new plan).
-- The default plan gives the flag up only to another plan: is_default =>
-- false on it is refused. rollover: per credit type, what of the unused
-- monthly allowance carries over at a renewal ({"credits": {"max": 100,
-- "fraction": 0.5}}, credits_private._check_rollover); null (the default)
-- leaves it as it is ({} for a new plan: nothing rolls). overdraft: per
-- credit type, how far below zero a debit may take the balance
-- ({"credits": 50}, credits_private._check_overdraft); null (the default)
-- leaves it as it is ({} for a new plan: no overdraft). Admin only.
-- Errors: PT404 unknown credit type; PT422 bad code, an allowance that is
-- not an amount above 0, a bad rollover rule, a bad overdraft limit, or
-- is_default => false on the default plan.
--
--   select * from credits.upsert_plan('free', signup_grant => '{"credits": 6}', is_default => true);

create or replace function credits.upsert_plan(code text, signup_grant jsonb default '{}',
                                               monthly_allowance jsonb default '{}',
                                               daily_allowance jsonb default '{}',
                                               unlimited boolean default false,
                                               description text default null,
                                               is_default boolean default null,
                                               rollover jsonb default null,
                                               overdraft jsonb default null)
returns credits.plans
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_allowance record;
  v_default text;
  v_row credits.plans;
  v_rollover jsonb := case when rollover is not null then credits_private._check_rollover(rollover) end;
  v_overdraft jsonb := case when overdraft is not null then credits_private._check_overdraft(overdraft) end;
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

  -- The default plan: the flag moves, it is never dropped. The row lock on
  -- the current default serializes two admins moving it at once.
  select p.code into v_default from credits_private.plans p where p.is_default for update;
  if is_default is false and v_default = code then
    raise exception 'plan % is the default plan: it cannot stop being the default', code
      using errcode = 'PT422',
            detail = 'A canceled subscription falls back to the default plan at its period''s end.',
            hint = 'Make another plan the default with credits.upsert_plan(code => ..., is_default => true).';
  end if;
  if is_default and v_default is distinct from code then
    update credits_private.plans p set is_default = false, updated_at = credits.now() where p.code = v_default;
  end if;

  insert into credits_private.plans as p
    (code, signup_grant, monthly_allowance, daily_allowance, unlimited, description, is_default,
     rollover, overdraft, created_at, updated_at)
  values
    (code, signup_grant, monthly_allowance, daily_allowance, coalesce(unlimited, false), description,
     coalesce(is_default, false), coalesce(v_rollover, '{}'), coalesce(v_overdraft, '{}'), credits.now(), credits.now())
  on conflict on constraint plans_pkey
  do update set signup_grant = excluded.signup_grant, monthly_allowance = excluded.monthly_allowance,
                daily_allowance = excluded.daily_allowance, unlimited = excluded.unlimited,
                description = excluded.description,
                is_default = coalesce(upsert_plan.is_default, p.is_default),
                rollover = coalesce(v_rollover, p.rollover),
                overdraft = coalesce(v_overdraft, p.overdraft),
                updated_at = excluded.updated_at;
  select p.* into v_row from credits.plans p where p.code = upsert_plan.code;
  return v_row;
end
$$;

comment on function credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text, boolean, jsonb, jsonb) is
  'Creates or updates a plan: signup grant, monthly and daily allowances per credit type, unlimited or not, whether it is the default plan, what of the monthly allowance rolls over, and how far below zero a debit may go; admin only.';
revoke all on function credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text, boolean, jsonb, jsonb) from public;
grant execute on function credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text, boolean, jsonb, jsonb) to credits_admin;
