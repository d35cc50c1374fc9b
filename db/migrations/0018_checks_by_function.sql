-- The hot tables' row rules as one call each (issue 13, docs/decisions.md,
-- "Row rules in functions"): PostgreSQL reads a table's CHECK constraints
-- again from their stored text at every statement that writes the table
-- (ExecRelCheck, stringToNode), which was a tenth of a debit's
-- instructions for four constraints of 3 to 4 kB of node text each. A
-- PL/pgSQL function is parsed once per session and its expression cached,
-- so each constraint is now a call of its rule: the same rule, the same
-- constraint name (so the same error), a few dozen bytes to read again.

set local role credits_owner;

create function credits_private._balance_row_ok(balance numeric, debt numeric, held numeric,
                                                period_granted numeric, period_used numeric)
returns boolean
language plpgsql
immutable
as $$
begin
  return debt >= 0 and balance + debt >= 0 and held >= 0 and held <= balance + debt
         and period_granted >= 0 and period_used >= 0;
end
$$;

create function credits_private._grant_row_ok(source text, amount numeric, remaining numeric, held numeric,
                                              starts_at timestamptz, expires_at timestamptz, payment_ref text)
returns boolean
language plpgsql
immutable
as $$
begin
  return source::credits_private.grant_source is not null and amount > 0 and remaining >= 0
         and remaining <= amount and held >= 0 and held <= remaining
         and (expires_at is null or expires_at > starts_at)
         and (payment_ref is null or payment_ref::credits_private.caller_key is not null);
end
$$;

create function credits_private._hold_row_ok(status text, amount numeric, captured numeric, capture_entry_id bigint,
                                             idempotency_key text)
returns boolean
language plpgsql
immutable
as $$
begin
  return status::credits_private.hold_status is not null and amount >= 0
         and (captured is null or (captured >= 0 and captured <= amount))
         and (status <> 'captured' or (captured is not null and capture_entry_id is not null))
         and (idempotency_key is null or idempotency_key::credits_private.caller_key is not null);
end
$$;

create function credits_private._ledger_row_ok(kind text, amount numeric, balance_before numeric,
                                               balance_after numeric, idempotency_key text)
returns boolean
language plpgsql
immutable
as $$
begin
  return kind::credits_private.ledger_kind is not null and balance_after = balance_before + amount
         and (idempotency_key is null or idempotency_key::credits_private.caller_key is not null);
end
$$;

revoke all on function credits_private._balance_row_ok(numeric, numeric, numeric, numeric, numeric),
                       credits_private._grant_row_ok(text, numeric, numeric, numeric, timestamptz, timestamptz, text),
                       credits_private._hold_row_ok(text, numeric, numeric, bigint, text),
                       credits_private._ledger_row_ok(text, numeric, numeric, numeric, text)
  from public;

alter table credits_private.balances
  drop constraint balances_are_consistent,
  add constraint balances_are_consistent
    check (credits_private._balance_row_ok(balance, debt, held, period_granted, period_used));
alter table credits_private.grants
  drop constraint grants_are_consistent,
  add constraint grants_are_consistent
    check (credits_private._grant_row_ok(source, amount, remaining, held, starts_at, expires_at, payment_ref));
alter table credits_private.holds
  drop constraint holds_are_consistent,
  add constraint holds_are_consistent
    check (credits_private._hold_row_ok(status, amount, captured, capture_entry_id, idempotency_key));
alter table credits_private.ledger_entries
  drop constraint ledger_entries_are_consistent,
  add constraint ledger_entries_are_consistent
    check (credits_private._ledger_row_ok(kind, amount, balance_before, balance_after, idempotency_key));

reset role;
