-- Back to the row rules written out in the constraints.

set local role credits_owner;

alter table credits_private.balances
  drop constraint balances_are_consistent,
  add constraint balances_are_consistent
    check (debt >= 0 and balance + debt >= 0 and held >= 0 and held <= balance + debt
           and period_granted >= 0 and period_used >= 0);
alter table credits_private.grants
  drop constraint grants_are_consistent,
  add constraint grants_are_consistent
    check (source::credits_private.grant_source is not null and amount > 0 and remaining >= 0
           and remaining <= amount and held >= 0 and held <= remaining
           and (expires_at is null or expires_at > starts_at)
           and (payment_ref is null or payment_ref::credits_private.caller_key is not null));
alter table credits_private.holds
  drop constraint holds_are_consistent,
  add constraint holds_are_consistent
    check (status::credits_private.hold_status is not null and amount >= 0
           and (captured is null or (captured >= 0 and captured <= amount))
           and (status <> 'captured' or (captured is not null and capture_entry_id is not null))
           and (idempotency_key is null or idempotency_key::credits_private.caller_key is not null));
alter table credits_private.ledger_entries
  drop constraint ledger_entries_are_consistent,
  add constraint ledger_entries_are_consistent
    check (kind::credits_private.ledger_kind is not null and balance_after = balance_before + amount
           and (idempotency_key is null or idempotency_key::credits_private.caller_key is not null));

drop function credits_private._balance_row_ok(numeric, numeric, numeric, numeric, numeric);
drop function credits_private._grant_row_ok(text, numeric, numeric, numeric, timestamptz, timestamptz, text);
drop function credits_private._hold_row_ok(text, numeric, numeric, bigint, text);
drop function credits_private._ledger_row_ok(text, numeric, numeric, numeric, text);

reset role;
