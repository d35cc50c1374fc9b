-- credits_private._roll_period(account, at): writes what settling at `at`
-- does to an account whose stored period has ended (see
-- credits_private._as_settled): a canceled subscription ends, a scheduled
-- lower plan (the provider's, or update_account's) takes effect
-- (plan_changed), and a period opens unless the account awaits its provider's
-- renewal, with what the ending period's plan rolls over of its unused
-- monthly allowance (credits_private._period_rollovers): one `rollover`
-- grant per credit type, ending with the new period, after the expiry of
-- the old allowance and the new one in the ledger. The caller holds the
-- account row (FOR NO KEY UPDATE): concurrent callers roll once.

create or replace function credits_private._roll_period(account credits_private.accounts, at timestamptz)
returns credits_private.accounts
language plpgsql
as $$
declare
  v_settled credits_private.accounts := credits_private._as_settled(account, at);
  v_ends_subscription boolean;
  v_account credits_private.accounts;
  v_rollovers jsonb;
begin
  if v_settled is not distinct from account then
    return account;
  end if;
  -- Read before anything moves: the ending period's grants and plan.
  select coalesce(jsonb_agg(to_jsonb(r) order by r.credit_type), '[]') into v_rollovers
  from credits_private._period_rollovers(account, v_settled) r;
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
    perform credits_private._add_rollovers(v_account.account_id, v_rollovers, v_account.period_start,
                                           v_account.period_end, account.period_end, at);
  end if;
  return v_account;
end
$$;
