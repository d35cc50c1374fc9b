-- credits.reconciliation: for every account and credit type, the
-- materialized balance, the sum of the ledger and the sum of grant
-- remainders, only where the three disagree. Empty is the normal state.
-- A balance in debt (overdraft, migration 0015) is the grant remainders
-- less its debt, and its debt the sum of the ledger's debt column.

create or replace view credits.reconciliation with (security_barrier) as
  select coalesce(b.account_id, l.account_id, g.account_id) as account_id,
         coalesce(b.credit_type, l.credit_type, g.credit_type) as credit_type,
         coalesce(b.balance, 0) as materialized_balance,
         coalesce(l.ledger_sum, 0) as ledger_sum,
         coalesce(g.grants_remaining, 0) as grants_remaining,
         coalesce(b.held, 0) as materialized_held,
         coalesce(g.grants_held, 0) as grants_held,
         coalesce(b.debt, 0) as materialized_debt,
         coalesce(l.ledger_debt, 0.000000) as ledger_debt
  from credits_private.balances b
  full join (select account_id, credit_type, sum(amount) as ledger_sum, sum(debt) as ledger_debt
             from credits_private.ledger_entries
             group by account_id, credit_type) l
    on l.account_id = b.account_id and l.credit_type = b.credit_type
  full join (select account_id, credit_type, sum(remaining) as grants_remaining, sum(held) as grants_held
             from credits_private.grants
             group by account_id, credit_type) g
    on g.account_id = coalesce(b.account_id, l.account_id)
   and g.credit_type = coalesce(b.credit_type, l.credit_type)
  where coalesce(b.balance, 0) <> coalesce(l.ledger_sum, 0)
     or coalesce(b.balance, 0) <> coalesce(g.grants_remaining, 0) - coalesce(b.debt, 0)
     or coalesce(b.held, 0) <> coalesce(g.grants_held, 0)
     or coalesce(b.debt, 0) <> coalesce(l.ledger_debt, 0);

comment on view credits.reconciliation is
  'Drift check: a row only where the materialized balance, the ledger sum and the grant remainders less the debt (or the held amounts, or the debt and the ledger''s) disagree; empty when all agree.';
revoke all on credits.reconciliation from public;
grant select on credits.reconciliation to credits_service, credits_admin, credits_user, credits_auditor;
