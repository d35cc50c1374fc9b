-- Plan choices (issue 17): which plan a canceled subscription falls back
-- to, and a plan change an admin or a backend schedules for the end of the
-- period (docs/decisions.md, "Plans: the default plan and changing plans").
--
-- plans.is_default: the plan a canceled subscription falls back to at its
-- period's end. At most one plan is the default (a unique partial index);
-- upsert_plan(is_default => true) moves the flag, and the default plan cannot
-- give it up except to another plan, so once a plan is the default there is
-- always one. An existing database keeps the fallback it had: plan `free`,
-- where it exists.
--
-- accounts.scheduled_plan: a lower plan credits.update_account scheduled
-- for the end of the account's current period (an upgrade takes effect at
-- once, as for a subscription event). Settling the period applies it.
--
-- upsert_plan gains the parameter is_default and open_account returns two
-- more columns (opened, differences, in the type opened_account): their old
-- signatures go, the function files create the new ones.

set local role credits_owner;

alter table credits_private.plans add column is_default boolean not null default false;
create unique index plans_one_default on credits_private.plans ((true)) where is_default;
-- Row-level security lets only admins change the catalog, and the owner is
-- subject to it (forced): lifted for this one statement of the migration.
alter table credits_private.plans no force row level security;
update credits_private.plans set is_default = true where code = 'free';
alter table credits_private.plans force row level security;
comment on column credits_private.plans.is_default is
  'The plan a canceled subscription falls back to at its period''s end; at most one plan.';

alter table credits_private.accounts add column scheduled_plan text references credits_private.plans;
comment on column credits_private.accounts.scheduled_plan is
  'A plan credits.update_account scheduled for the end of the current period (a downgrade); null: none.';

drop function if exists credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text);
drop function if exists credits.open_account(text, text, boolean, text, jsonb);

-- What open_account returns: the account (the columns of credits.accounts)
-- and what the call did. A type of its own, because a function's result
-- columns cannot share the names of its parameters (account_id, plan, ...).
create type credits_private.opened_account as (
  account_id     text,
  plan           text,
  status         text,
  status_reason  text,
  is_demo        boolean,
  timezone       text,
  billing_anchor timestamptz,
  period_start   timestamptz,
  period_end     timestamptz,
  metadata       jsonb,
  created_at     timestamptz,
  updated_at     timestamptz,
  -- Whether this call opened the account.
  opened         boolean,
  -- The arguments this call passed that the existing account does not have.
  differences    text[]
);
comment on type credits_private.opened_account is
  'The result of credits.open_account: the account, whether the call opened it, and what it asked for that an existing account does not have.';

comment on schema credits is
  'pgcredits public surface: functions and read-only views. See docs/contract.md.';

reset role;
