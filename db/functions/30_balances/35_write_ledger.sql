-- credits_private._write_ledger(balance, kind, amount, at, ...): the ledger
-- row of a change of `amount` that left the balance row as `balance`: its
-- account and credit type, the balance before and after (they chain), what
-- is available after (_available unless the caller knows it), who acts
-- (_actor) and the rest as given (member_id on a pool's row: the member
-- that spent; pool_id and pool_entry_id on a member's row: the pool's row
-- that paid the rest; debt: what the row moved the balance's debt by,
-- migration 0015). The one writer of ledger rows but two
-- that must write in bulk or in one statement with their draw: the debit
-- (deduct_credits) and the daily job (grant_daily_credits), which name it.
-- Returns the entry id.
--
--   perform credits_private._write_ledger(v_balance, 'expiry', -5, at, grant_id => 7, reason => 'ended');

create or replace function credits_private._write_ledger(balance credits_private.balances, kind text, amount numeric,
                                                         at timestamptz, available numeric default null,
                                                         grant_id bigint default null, feature text default null,
                                                         units jsonb default null, draws jsonb default null,
                                                         refund_of bigint default null,
                                                         idempotency_key text default null,
                                                         request_hash uuid default null, reason text default null,
                                                         metadata jsonb default '{}',
                                                         member_id text default null, pool_id text default null,
                                                         pool_entry_id bigint default null,
                                                         debt numeric default null)
returns bigint
language plpgsql
as $$
declare
  v_entry_id bigint;
begin
  insert into credits_private.ledger_entries
    (account_id, credit_type, kind, amount, balance_before, balance_after, available_after, grant_id, feature,
     units, draws, refund_of, idempotency_key, request_hash, actor, reason, metadata, created_at, member_id,
     pool_id, pool_entry_id, debt)
  values
    (balance.account_id, balance.credit_type, kind, amount, balance.balance - amount, balance.balance,
     coalesce(available, credits_private._available(balance.account_id, balance.credit_type, at)), grant_id,
     feature, units, draws, refund_of, idempotency_key, request_hash, credits_private._actor(), reason,
     coalesce(metadata, '{}'::jsonb), at, member_id, pool_id, pool_entry_id, nullif(debt, 0))
  returning entry_id into v_entry_id;
  return v_entry_id;
end
$$;
