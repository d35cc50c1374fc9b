-- credits.open_account(account_id, plan, is_demo, timezone, metadata): opens
-- an account with its first billing period, its plan's signup grant and the
-- period's monthly allowance, in one transaction. Opening an existing account
-- changes nothing and returns it as it is, with opened = false; where this
-- call asked for something else (another plan, is_demo, time zone or
-- metadata) `differences` names those arguments and a NOTICE says what the
-- account has instead (credits.update_account changes plan and is_demo). An
-- argument left at its default is not compared: SQL cannot tell it from one
-- passed with the same value, and an app that calls open_account at every
-- login would hear about every account not on plan free. Service and admin.
-- Errors: PT404 unknown plan; PT422 empty id, bad time zone or metadata.
--
--   select account_id, opened, differences from credits.open_account('u_42', plan => 'pro');

create or replace function credits.open_account(account_id text, plan text default 'free',
                                                is_demo boolean default false, timezone text default 'UTC',
                                                metadata jsonb default '{}')
returns credits_private.opened_account
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_plan credits_private.plans;
  v_period record;
  v_grant record;
  v_opened boolean;
  v_account credits_private.accounts;
  v_differences text[] := '{}';
  v_said text[] := '{}';
  v_row credits_private.opened_account;
begin
  if account_id is null or account_id = '' or length(account_id) > 200 then
    raise exception 'account_id must be 1 to 200 characters, got %', coalesce(credits_private._shown(quote_literal(account_id)), 'null')
      using errcode = 'PT422', hint = 'Pass the app''s id of the account.';
  end if;
  select p.* into v_plan from credits_private.plans p where p.code = open_account.plan;
  if not found then
    raise exception 'unknown plan %', credits_private._shown(plan)
      using errcode = 'PT404', hint = 'Create it with credits.upsert_plan.';
  end if;
  -- pg_timezone_names reads the whole time zone database, so the default,
  -- UTC, skips it (docs/decisions.md, "Bulk paths and the planner").
  if timezone is null
     or timezone <> 'UTC'
        and (timezone !~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$'
             or not exists (select from pg_catalog.pg_timezone_names z where z.name = open_account.timezone)) then
    raise exception 'unknown time zone %', credits_private._shown(timezone)
      using errcode = 'PT422', hint = 'Pass an IANA time zone name such as Europe/Paris, or UTC.';
  end if;
  perform credits_private._check_metadata(metadata);

  v_period := credits_private._monthly_period(v_now, timezone, v_now);
  insert into credits_private.accounts as a
    (account_id, plan, is_demo, timezone, billing_anchor, period_start, period_end, metadata,
     created_at, updated_at)
  values
    (account_id, plan, coalesce(is_demo, false), timezone, v_now, v_period.period_start,
     v_period.period_end, metadata, v_now, v_now)
  on conflict on constraint accounts_pkey do nothing
  returning true into v_opened;

  if v_opened then
    for v_grant in select e.key as credit_type, e.value::numeric as amount from jsonb_each(v_plan.signup_grant) e
    loop
      perform credits_private._add_grant(
        account_id, v_grant.credit_type, 'signup', v_grant.amount, null, null, v_now, v_period.period_start,
        reason => format('signup grant of plan %s', plan));
    end loop;
    perform credits_private._open_period(account_id, plan, 'active', v_period.period_start, v_period.period_end, v_now);
  else
    -- An existing account: say what this call asked for that it does not have.
    v_account := credits_private._account_to_act(account_id);
    if plan <> 'free' and plan <> v_account.plan then
      v_differences := v_differences || 'plan'::text;
      v_said := v_said || format('plan is %s, not %s', v_account.plan, plan);
    end if;
    if is_demo and not v_account.is_demo then
      v_differences := v_differences || 'is_demo'::text;
      v_said := v_said || 'is_demo is false, not true'::text;
    end if;
    if timezone <> 'UTC' and timezone <> v_account.timezone then
      v_differences := v_differences || 'timezone'::text;
      v_said := v_said || format('timezone is %s, not %s', v_account.timezone, timezone);
    end if;
    if metadata <> '{}'::jsonb and metadata <> v_account.metadata then
      v_differences := v_differences || 'metadata'::text;
      v_said := v_said || 'metadata differs'::text;
    end if;
    if v_differences <> '{}' then
      raise notice 'account % exists and was left as it is: %', account_id, array_to_string(v_said, '; ')
        using hint = 'Change plan or is_demo with credits.update_account; open_account never changes an account.';
    end if;
  end if;

  select a.*, coalesce(v_opened, false), v_differences into v_row
  from credits.accounts a
  where a.account_id = open_account.account_id;
  return v_row;
end
$$;

comment on function credits.open_account(text, text, boolean, text, jsonb) is
  'Opens an account with its first period and its plan''s signup grant and allowances, or returns an existing one unchanged with the differences it was asked for; service and admin.';
revoke all on function credits.open_account(text, text, boolean, text, jsonb) from public;
grant execute on function credits.open_account(text, text, boolean, text, jsonb) to credits_service;
