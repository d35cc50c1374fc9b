-- Overdraft (issue 15; docs/decisions.md, "Overdraft"): plans.overdraft
-- says, per credit type, how far below zero a debit may take the balance
-- ({"credits": 50}: down to -50). The debt lives on the balance row
-- (balances.debt): grants' remaining never goes below 0, and
--   balance = sum(remaining of the grants) - debt = sum(ledger amounts),
--   debt = sum(ledger_entries.debt),
-- so available (balance - held) is negative while in debt. A ledger row's
-- debt is what it moved the debt by: + the part of a debit no grant paid,
-- - what a grant or refund repaid (null: none). upsert_plan gains the
-- parameter overdraft and _write_ledger the parameter debt: their old
-- signatures go, the function files create the new ones.

set local role credits_owner;

alter table credits_private.plans add column overdraft jsonb not null default '{}';
comment on column credits_private.plans.overdraft is
  'Per credit type, how far below zero a debit may take the balance: {"credits": 50} (absent: 0).';

alter table credits_private.balances add column debt numeric(30,6) not null default 0;
comment on column credits_private.balances.debt is
  'What debits took beyond the grants (overdraft), until a grant or refund repays it: balance = sum of grant remainders - debt.';
alter table credits_private.balances
  drop constraint balances_are_consistent,
  add constraint balances_are_consistent check (
    debt >= 0 and balance + debt >= 0 and held >= 0 and held <= balance + debt
    and period_granted >= 0 and period_used >= 0);

alter table credits_private.ledger_entries add column debt numeric(30,6);
comment on column credits_private.ledger_entries.debt is
  'What this row moved the balance''s debt by: the part of a debit no grant paid (> 0), what a grant or refund repaid (< 0); null: nothing.';
alter table credits_private.ledger_entries
  drop constraint ledger_entries_are_consistent,
  add constraint ledger_entries_are_consistent check (
    kind::credits_private.ledger_kind is not null and balance_after = balance_before + amount
    and (idempotency_key is null or idempotency_key::credits_private.caller_key is not null));

drop function if exists credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text, boolean, jsonb);
-- _write_ledger gains debt.
drop function if exists credits_private._write_ledger(credits_private.balances, text, numeric, timestamptz,
  numeric, bigint, text, jsonb, jsonb, bigint, text, uuid, text, jsonb, text, text, bigint);

reset role;
