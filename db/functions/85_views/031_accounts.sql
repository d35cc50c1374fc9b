-- credits.accounts: one row per account; what open_account,
-- set_account_status and apply_subscription_event return.

create or replace view credits.accounts with (security_barrier) as
  select account_id, plan, status, status_reason, is_demo, timezone, billing_anchor,
         period_start, period_end, metadata, created_at, updated_at
  from credits_private.accounts;

comment on view credits.accounts is
  'Accounts: plan, status (active, suspended, closed), demo flag, time zone, billing anchor and current period.';
revoke all on credits.accounts from public;
grant select on credits.accounts to credits_service, credits_admin, credits_user, credits_auditor;
