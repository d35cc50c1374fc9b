-- Periods, settled lazily: an account's stored period is the one its last
-- mutating call saw. Past its end, reads report the period that contains
-- `at` (credits_private._current_period) and the allowance it would issue
-- (credits_private._pending_allowance); the next mutating call opens it
-- for real (credits_private._settle_account).

-- The period that contains `at`: the stored one while it runs, else the
-- monthly period from the billing anchor.
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
    select p.period_start, p.period_end into period_start, period_end
    from credits_private._monthly_period(account.billing_anchor, account.timezone, at) p;
  end if;
end
$$;

-- What opening the current period would grant of a credit type: the plan's
-- monthly allowance when the stored period has ended, else 0 (and 0 for a
-- suspended or closed account: its credits stay as they are).
create or replace function credits_private._pending_allowance(account credits_private.accounts, credit_type text,
                                                              at timestamptz)
returns numeric
language sql
stable
as $$
  select case when account.period_end > at or account.status <> 'active' then 0.000000
              else coalesce((select (p.monthly_allowance ->> credit_type)::numeric
                             from credits_private.plans p where p.code = account.plan), 0.000000) end
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

-- The account for a mutating call: the caller may act on it, and its
-- current period is open. Concurrent callers open a period once: the
-- account row lock serializes them.
create or replace function credits_private._settle_account(account_id text, at timestamptz)
returns credits_private.accounts
language plpgsql
as $$
declare
  v_account credits_private.accounts := credits_private._account(account_id, true);
  v_period record;
begin
  if v_account.period_end > at then
    return v_account;
  end if;
  select a.* into v_account
  from credits_private.accounts a
  where a.account_id = _settle_account.account_id
  for no key update;
  if v_account.period_end > at then
    return v_account;
  end if;
  v_period := credits_private._current_period(v_account, at);
  update credits_private.accounts a
  set period_start = v_period.period_start, period_end = v_period.period_end, updated_at = at
  where a.account_id = _settle_account.account_id
  returning a.* into v_account;
  perform credits_private._open_period(account_id, v_account.plan, v_account.status, v_period.period_start,
                                       v_period.period_end, at);
  return v_account;
end
$$;
