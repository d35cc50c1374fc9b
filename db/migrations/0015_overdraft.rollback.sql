-- Undoes 0015. Refused (a check violation) while any balance is in debt:
-- settle the debts first. The function files of the version rolled back
-- to create upsert_plan with its old signature again; the new one, and the
-- functions and views that read the new columns, go here.
set local role credits_owner;
drop function if exists credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text, boolean, jsonb, jsonb);
drop function if exists credits_private._overdraft(text, text, text);
drop function if exists credits_private._write_ledger(credits_private.balances, text, numeric, timestamptz,
  numeric, bigint, text, jsonb, jsonb, bigint, text, uuid, text, jsonb, text, text, bigint, numeric);
drop function if exists credits_private._check_overdraft(jsonb);
alter table credits_private.ledger_entries
  drop constraint ledger_entries_are_consistent,
  add constraint ledger_entries_are_consistent check (
    kind::credits_private.ledger_kind is not null and balance_after = balance_before + amount
    and balance_after >= 0 and (idempotency_key is null or idempotency_key::credits_private.caller_key is not null));
alter table credits_private.ledger_entries drop column debt cascade;
alter table credits_private.balances
  drop constraint balances_are_consistent,
  add constraint balances_are_consistent check (
    balance >= 0 and held >= 0 and held <= balance and period_granted >= 0 and period_used >= 0);
alter table credits_private.balances drop column debt cascade;
alter table credits_private.plans drop column overdraft cascade;
reset role;
