-- Subscriptions: the helpers of credits.apply_subscription_event and
-- credits.grant_subscriber_monthly_credits (docs/decisions.md,
-- "Subscriptions"). Their callers hold the account row (FOR NO KEY UPDATE);
-- each helper then locks a balance row before it reads or changes the grants
-- behind it: the lock order of deduct_credits (account row, balance row,
-- period counter, grants).

-- Whether moving from plan `from_plan` to `to_plan` is an upgrade, which
-- takes effect at once: another plan that is unlimited (from a limited
-- one), or whose monthly allowance is at least the old one's in every
-- credit type. Anything else (a lower allowance in some credit type, or
-- unlimited to limited) waits for the period's end. Null for an unknown plan.
create or replace function credits_private._is_upgrade(from_plan text, to_plan text)
returns boolean
language sql
stable
as $$
  select from_plan <> to_plan
         and (n.unlimited
              or (not o.unlimited
                  and not exists (select
                                  from jsonb_each(o.monthly_allowance) e
                                  where coalesce((n.monthly_allowance ->> e.key)::numeric, 0) < e.value::numeric)))
  from credits_private.plans o, credits_private.plans n
  where o.code = from_plan and n.code = to_plan
$$;

-- Ends now what is left of the monthly allowance of the period starting
-- `period_start` (a provider's period replaced it before its end: monthly
-- allowances do not accumulate). One `expiry` ledger row per grant; a part
-- held by a hold stays for that hold.
create or replace function credits_private._end_monthly_allowance(account_id text, period_start timestamptz,
                                                                  at timestamptz, reason text)
returns void
language plpgsql
as $$
declare
  v_type text;
  v_grant_id bigint;
begin
  for v_type in
    select distinct g.credit_type
    from credits_private.grants g
    where g.account_id = _end_monthly_allowance.account_id
      and g.source = 'monthly'
      and g.period_start = _end_monthly_allowance.period_start
      and g.is_open
    order by 1
  loop
    perform credits_private._lock_balance(account_id, v_type, at);
    for v_grant_id in
      select g.grant_id
      from credits_private.grants g
      where g.account_id = _end_monthly_allowance.account_id
        and g.credit_type = v_type
        and g.source = 'monthly'
        and g.period_start = _end_monthly_allowance.period_start
        and g.is_open
      order by g.grant_id
    loop
      update credits_private.grants g
      set expired_at = at
      where g.account_id = _end_monthly_allowance.account_id and g.grant_id = v_grant_id;
      perform credits_private._write_off_grant(account_id, v_type, v_grant_id, 'expiry', reason, at);
    end loop;
  end loop;
end
$$;

-- Issues the monthly allowance of the account's plan for its current
-- period, per credit type, where the period has no monthly grant yet. With
-- top_up (an upgrade), a running monthly grant smaller than the plan's
-- allowance grows to it: its amount becomes the allowance and its
-- remaining grows by the difference, so what is left is the new allowance
-- less what was already used of the period's allowance (100 with 30 used,
-- upgraded to 500: 470 left). That difference is one `adjustment` ledger
-- row naming the grant. Nothing for a suspended or closed account, nor for
-- a period that has ended.
create or replace function credits_private._issue_monthly_allowance(account credits_private.accounts,
                                                                    at timestamptz, top_up boolean,
                                                                    reason text, metadata jsonb default '{}')
returns void
language plpgsql
as $$
declare
  v_allowance record;
  v_grant credits_private.grants;
  v_delta numeric;
  v_balance credits_private.balances;
begin
  if account.status <> 'active' or account.period_end <= at then
    return;
  end if;
  for v_allowance in
    select e.key as credit_type, e.value::numeric as amount
    from credits_private.plans p, jsonb_each(p.monthly_allowance) e
    where p.code = account.plan
    order by e.key
  loop
    perform credits_private._lock_balance(account.account_id, v_allowance.credit_type, at);
    select g.* into v_grant
    from credits_private.grants g
    where g.account_id = account.account_id
      and g.credit_type = v_allowance.credit_type
      and g.source = 'monthly'
      and g.period_start = account.period_start;
    if not found then
      perform credits_private._add_grant(
        account.account_id, v_allowance.credit_type, 'monthly', v_allowance.amount, account.period_end, null, at,
        account.period_start, reason => reason, grant_period_start => account.period_start);
    elsif top_up and v_grant.amount < v_allowance.amount and v_grant.voided_at is null
          and v_grant.expired_at is null and v_grant.expires_at > at then
      v_delta := v_allowance.amount - v_grant.amount;
      update credits_private.grants g
      set amount = v_allowance.amount, remaining = g.remaining + v_delta
      where g.account_id = account.account_id and g.grant_id = v_grant.grant_id;

      update credits_private.balances b
      set balance = b.balance + v_delta,
          settle_at = least(b.settle_at, v_grant.expires_at),
          period_granted = case when b.period_start = account.period_start then b.period_granted else 0 end + v_delta,
          period_used = case when b.period_start = account.period_start then b.period_used else 0 end,
          period_start = account.period_start,
          updated_at = at
      where b.account_id = account.account_id and b.credit_type = v_allowance.credit_type
      returning b.* into v_balance;

      insert into credits_private.ledger_entries
        (account_id, credit_type, kind, amount, balance_before, balance_after, available_after, grant_id, actor,
         reason, metadata, created_at)
      values
        (account.account_id, v_allowance.credit_type, 'adjustment', v_delta, v_balance.balance - v_delta,
         v_balance.balance, credits_private._available(account.account_id, v_allowance.credit_type, at),
         v_grant.grant_id, credits_private._actor(), reason,
         coalesce(metadata, '{}'::jsonb)
           || jsonb_build_object('source', 'monthly', 'allowance_before', v_grant.amount,
                                 'allowance_after', v_allowance.amount,
                                 'used_before', v_grant.amount - v_grant.remaining),
         at);
    end if;
  end loop;
end
$$;

-- An upgrade, at once (credits_private._is_upgrade said so): the account
-- moves to `plan` (plan_changed, cause upgrade, with `event` added to its
-- payload), its daily allowance is settled afresh (daily_until null), what
-- was scheduled for the period's end goes, and the period's monthly
-- allowance becomes the new plan's less what was used of it
-- (credits_private._issue_monthly_allowance with top_up; `reason` and
-- `metadata` go to its ledger rows). The one rule for apply_subscription_event
-- and update_account. The caller holds the account row. Returns the account.
create or replace function credits_private._upgrade_plan(account credits_private.accounts, plan text,
                                                         at timestamptz, reason text, event jsonb,
                                                         metadata jsonb)
returns credits_private.accounts
language plpgsql
as $$
declare
  v_account credits_private.accounts;
begin
  perform credits_private._emit_event(account.account_id, 'plan_changed', null,
    jsonb_build_object('from', account.plan, 'to', plan, 'cause', 'upgrade', 'effective_at', at)
      || coalesce(event, '{}'::jsonb),
    at);
  update credits_private.accounts a
  set plan = _upgrade_plan.plan, scheduled_plan = null, updated_at = at, daily_until = null
  where a.account_id = account.account_id
  returning a.* into v_account;
  perform credits_private._issue_monthly_allowance(v_account, at, true, reason, metadata);
  return v_account;
end
$$;

-- Moves the end of the account's current period to the provider's
-- `period_end` (same period_start, another end): the account, its period
-- row, and the running monthly grants of the period, which end with it.
-- An end already past ends those grants now. Returns the account.
create or replace function credits_private._move_period_end(account credits_private.accounts,
                                                            period_end timestamptz, at timestamptz, reason text)
returns credits_private.accounts
language plpgsql
as $$
declare
  v_account credits_private.accounts;
  v_type text;
begin
  update credits_private.accounts a
  set period_end = _move_period_end.period_end, updated_at = at
  where a.account_id = account.account_id
  returning a.* into v_account;
  update credits_private.periods p
  set period_end = _move_period_end.period_end
  where p.account_id = account.account_id and p.period_start = account.period_start;
  if period_end <= at then
    perform credits_private._end_monthly_allowance(account.account_id, account.period_start, at, reason);
    return v_account;
  end if;
  for v_type in
    select distinct g.credit_type
    from credits_private.grants g
    where g.account_id = account.account_id
      and g.source = 'monthly'
      and g.period_start = account.period_start
      and g.is_open
    order by 1
  loop
    perform credits_private._lock_balance(account.account_id, v_type, at);
    update credits_private.grants g
    set expires_at = _move_period_end.period_end
    where g.account_id = account.account_id
      and g.credit_type = v_type
      and g.source = 'monthly'
      and g.period_start = account.period_start
      and g.is_open;
    update credits_private.balances b
    set settle_at = least(b.settle_at, _move_period_end.period_end), updated_at = at
    where b.account_id = account.account_id and b.credit_type = v_type;
  end loop;
  return v_account;
end
$$;
