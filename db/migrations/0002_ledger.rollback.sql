-- Drops the tables of 0002 and, with CASCADE, the views and functions'
-- dependants built on them.
set local role credits_owner;
drop table if exists
  credits_private.events,
  credits_private.ledger_entries,
  credits_private.grants,
  credits_private.balances,
  credits_private.period_usage,
  credits_private.periods,
  credits_private.accounts,
  credits_private.plan_features,
  credits_private.plans,
  credits_private.features,
  credits_private.credit_types
  cascade;
drop function if exists credits_private.tg_ledger_entries__reject_change();
reset role;
