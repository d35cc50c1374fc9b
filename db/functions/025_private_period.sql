-- Periods, settled lazily: an account's stored period is the one its last
-- mutating call saw. Past its end, reads report the account as settling
-- would leave it (credits_private._as_settled): the period that contains
-- `at` (credits_private._current_period) and the allowance it would issue
-- (credits_private._pending_allowance); the next mutating call opens it
-- for real (credits_private._settle_account, credits_private._roll_period).

-- The account as settling it at `at` would leave it; nothing is written.
-- While its stored period runs: as it is. Past its end:
-- * a subscriber (credits_private.subscriptions) follows the provider's
--   periods exactly: it keeps the ended period until the provider's renewal
--   event opens the next one (apply_subscription_event), and a lower plan
--   scheduled for the period's end takes effect;
-- * a canceled subscription ends with its period: the account falls back to
--   the default plan (plans.is_default), with monthly periods anchored at
--   that end;
-- * any other account moves to the monthly period from its billing anchor
--   that contains `at`, on the plan credits.update_account scheduled for
--   the period's end, if any (accounts.scheduled_plan).
create or replace function credits_private._as_settled(account credits_private.accounts, at timestamptz)
returns credits_private.accounts
language plpgsql
stable
as $$
declare
  v_settled credits_private.accounts := account;
  v_plan text;
  v_status text;
begin
  if account.period_end > at then
    return v_settled;
  end if;
  -- (Without migration 0005, no account is a subscriber.)
  if to_regclass('credits_private.subscriptions') is not null then
    select s.plan, s.status into v_plan, v_status
    from credits_private.subscriptions s
    where s.account_id = account.account_id and s.ended_at is null;
  end if;
  if v_status <> 'canceled' then
    v_settled.plan := v_plan;
    return v_settled;
  end if;
  if v_status = 'canceled' then
    -- The default plan exists: a canceled event is refused without one, and
    -- the default plan gives up its flag only to another plan.
    v_settled.plan := coalesce((select p.code from credits_private.plans p where p.is_default), account.plan);
    v_settled.billing_anchor := account.period_end;
  else
    v_settled.plan := coalesce(account.scheduled_plan, account.plan);
  end if;
  v_settled.scheduled_plan := null;
  select p.period_start, p.period_end into v_settled.period_start, v_settled.period_end
  from credits_private._monthly_period(v_settled.billing_anchor, account.timezone, at) p;
  return v_settled;
end
$$;

-- The period that contains `at`: the stored one while it runs, else the
-- one settling leaves (credits_private._as_settled).
create or replace function credits_private._current_period(account credits_private.accounts, at timestamptz,
                                                           out period_start timestamptz,
                                                           out period_end timestamptz)
language plpgsql
stable
as $$
begin
  if account.period_end > at then
    period_start := account.period_start;
    period_end := account.period_end;
  else
    select s.period_start, s.period_end into period_start, period_end
    from credits_private._as_settled(account, at) s;
  end if;
end
$$;

-- What opening the current period would grant of a credit type: the
-- settled plan's monthly allowance when settling opens a period, else 0 (a
-- running period, a subscriber awaiting its renewal, and a suspended or
-- closed account: its credits stay as they are).
create or replace function credits_private._pending_allowance(account credits_private.accounts, credit_type text,
                                                              at timestamptz)
returns numeric
-- PL/pgSQL, not SQL: a SQL function with a sub-select is not inlined, and is
-- parsed and planned again on every call; PL/pgSQL keeps its plans.
language plpgsql
stable
as $$
begin
  return case when account.period_end > at or account.status <> 'active' then 0.000000
              else coalesce((select (p.monthly_allowance ->> _pending_allowance.credit_type)::numeric
                             from credits_private._as_settled(account, at) s
                             join credits_private.plans p on p.code = s.plan
                             where s.period_start <> account.period_start), 0.000000) end;
end
$$;

-- Opens a period: its row, and for an active account the plan's monthly
-- allowance as grants that end with it (non-cumulative). A suspended or
-- closed account gets none: its credits stay as they are. The caller holds
-- the account row.
create or replace function credits_private._open_period(account_id text, plan text, status text,
                                                        period_start timestamptz, period_end timestamptz,
                                                        at timestamptz)
returns void
language plpgsql
as $$
declare
  v_allowance record;
begin
  insert into credits_private.periods (account_id, period_start, period_end, plan, created_at)
  values (account_id, period_start, period_end, plan, at)
  on conflict on constraint periods_pkey do nothing;
  for v_allowance in
    select e.key as credit_type, e.value::numeric as amount
    from credits_private.plans p, jsonb_each(p.monthly_allowance) e
    where p.code = _open_period.plan and status = 'active'
  loop
    perform credits_private._add_grant(
      account_id, v_allowance.credit_type, 'monthly', v_allowance.amount, period_end, null, at, period_start,
      reason => format('monthly allowance of plan %s', plan), grant_period_start => period_start);
  end loop;
end
$$;

-- Writes what settling at `at` does to an account whose stored period has
-- ended (see credits_private._as_settled): a canceled subscription ends, a
-- scheduled lower plan (the provider's, or update_account's) takes effect
-- (plan_changed), and a period opens
-- unless the account awaits its provider's renewal. The caller holds the
-- account row (FOR NO KEY UPDATE).
create or replace function credits_private._roll_period(account credits_private.accounts, at timestamptz)
returns credits_private.accounts
language plpgsql
as $$
declare
  v_settled credits_private.accounts := credits_private._as_settled(account, at);
  v_ends_subscription boolean;
  v_account credits_private.accounts;
begin
  if v_settled is not distinct from account then
    return account;
  end if;
  if v_settled.billing_anchor <> account.billing_anchor then
    update credits_private.subscriptions s
    set ended_at = account.period_end, updated_at = at
    where s.account_id = account.account_id and s.ended_at is null and s.status = 'canceled'
    returning true into v_ends_subscription;
  end if;
  if v_settled.plan <> account.plan then
    perform credits_private._emit_event(account.account_id, 'plan_changed', null,
      jsonb_build_object('from', account.plan, 'to', v_settled.plan, 'effective_at', account.period_end,
                         'cause', case when v_ends_subscription then 'cancellation' else 'scheduled' end),
      at);
  end if;
  -- Another plan: its daily allowance for today is settled afresh (daily_until null).
  update credits_private.accounts a
  set plan = v_settled.plan, billing_anchor = v_settled.billing_anchor, period_start = v_settled.period_start,
      period_end = v_settled.period_end, scheduled_plan = v_settled.scheduled_plan, updated_at = at,
      daily_until = case when v_settled.plan = account.plan then a.daily_until end
  where a.account_id = account.account_id
  returning a.* into v_account;
  if v_account.period_start <> account.period_start then
    perform credits_private._open_period(v_account.account_id, v_account.plan, v_account.status,
                                         v_account.period_start, v_account.period_end, at);
  end if;
  return v_account;
end
$$;

-- The account for a mutating call: the caller may act on it, its current
-- period is open and its daily grants for the local day are issued
-- (credits_private._settle_daily). Concurrent callers do each once: the
-- account row lock serializes them. While neither is due (the period runs,
-- daily_until is ahead) this is the account read and two comparisons.
create or replace function credits_private._settle_account(account_id text, at timestamptz)
returns credits_private.accounts
language plpgsql
as $$
declare
  v_account credits_private.accounts := credits_private._account(account_id, true);
begin
  if v_account.period_end > at and v_account.daily_until > at then
    return v_account;
  end if;
  -- A subscriber awaiting the provider's renewal, nothing scheduled for the
  -- period's end: no period to open. Its callers share the account row (FOR
  -- SHARE: they do not wait for each other), so the renewal event, which
  -- locks it FOR NO KEY UPDATE, waits for their transactions, and they read
  -- the renewal once committed: no debit is counted in a period already
  -- replaced. What an event committed just before the lock scheduled is
  -- left to the next transaction: two sharers escalating could deadlock.
  if v_account.daily_until > at and credits_private._as_settled(v_account, at) is not distinct from v_account then
    select a.* into v_account
    from credits_private.accounts a
    where a.account_id = _settle_account.account_id
    for share;
    return v_account;
  end if;
  select a.* into v_account
  from credits_private.accounts a
  where a.account_id = _settle_account.account_id
  for no key update;
  if v_account.period_end <= at then
    v_account := credits_private._roll_period(v_account, at);
  end if;
  if v_account.daily_until is null or v_account.daily_until <= at then
    v_account := credits_private._settle_daily(v_account, at);
  end if;
  return v_account;
end
$$;
