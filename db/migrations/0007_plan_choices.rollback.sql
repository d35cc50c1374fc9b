-- Drops what 0007 added. Dropping plans.is_default drops the view
-- credits.plans and credits.upsert_plan with it (CASCADE); the function
-- files of the version before 0007 create them again, with open_account's
-- old signature, when `pgcredits migrate` of that version runs.
set local role credits_owner;
drop function if exists credits.open_account(text, text, boolean, text, jsonb);
drop type if exists credits_private.opened_account;
drop function if exists credits.update_account(text, text, boolean);
drop function if exists credits.get_quotas(text);
drop view if exists credits.subscriptions;
drop view if exists credits.account_usage_daily cascade;  -- and usage_daily, built on it
alter table credits_private.accounts drop column if exists scheduled_plan;
alter table credits_private.plans drop column if exists is_default cascade;
comment on schema credits is
  'pgcredits public surface: functions and read-only views.';
reset role;
