-- credits.ledger: every change of every balance, newest last, as it was
-- written (the rows cannot be changed). transaction_id is what
-- deduct_credits returns and refund_transaction takes. get_history returns
-- rows of this shape. A pool's rows name the member that spent
-- (member_id); a member's debit that its pool paid in part names the pool
-- and the pool's row (pool_id, pool_transaction_id). debt: what the row
-- moved the balance's debt by (overdraft): + the part of a debit no grant
-- paid, - what a grant or refund repaid; null: nothing.

create or replace view credits.ledger with (security_barrier) as
  select entry_id as transaction_id, account_id, credit_type, kind, amount, balance_before, balance_after,
         available_after, feature, units, grant_id, refund_of, draws, idempotency_key, actor, reason,
         metadata, created_at, member_id, pool_id, pool_entry_id as pool_transaction_id,
         debt
  from credits_private.ledger_entries;

comment on view credits.ledger is
  'The append-only ledger: one row per change of a balance, with the balance before and after, who did it and why.';
revoke all on credits.ledger from public;
grant select on credits.ledger to credits_service, credits_admin, credits_user, credits_auditor;
