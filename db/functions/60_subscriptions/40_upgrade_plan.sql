-- credits_private._upgrade_plan(account, plan, at, ...): an upgrade, at once
-- (credits_private._is_upgrade said so): the account moves to `plan`
-- (plan_changed, cause upgrade, with `event` added to its payload), its daily
-- allowance is settled afresh (daily_until null), what was scheduled for the
-- period's end goes, and the period's monthly allowance becomes the new
-- plan's less what was used of it (credits_private._issue_monthly_allowance
-- with top_up; `reason` and `metadata` go to its ledger rows). The one rule
-- for apply_subscription_event and update_account. The caller holds the
-- account row. Returns the account.

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
