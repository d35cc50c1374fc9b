-- credits_private._as_settled(account, at): the account as settling it at
-- `at` would leave it; nothing is written. While its stored period runs:
-- as it is. Past its end:
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
-- The one rule of when a period rolls: _roll_period writes what this says.

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
  select s.plan, s.status into v_plan, v_status
  from credits_private.subscriptions s
  where s.account_id = account.account_id and s.ended_at is null;
  if v_status is not null and v_status <> 'canceled' then
    -- A subscriber awaits its provider's renewal, on the plan it follows.
    v_settled.plan := v_plan;
    return v_settled;
  elsif v_status = 'canceled' then
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
