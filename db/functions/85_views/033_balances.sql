-- credits.balances: per account and credit type, the materialized balance
-- (credits owned, held included), what live holds hold, and what is
-- available now with the same meaning as get_balance's: the account as it
-- stands once settled (credits_private._settled_balance, through
-- _view_available and _view_held).

create or replace view credits.balances with (security_barrier) as
  select b.account_id, b.credit_type, b.balance,
         credits_private._view_held(b.account_id, b.credit_type)::numeric(30,6) as held,
         credits_private._view_available(b.account_id, b.credit_type) as available,
         b.updated_at, b.debt
  from credits_private.balances b;

comment on view credits.balances is
  'Balances per account and credit type: balance (credits owned, less the debt: negative in overdraft), held, available now, as get_balance counts it, and the debt an overdraft took.';
revoke all on credits.balances from public;
grant select on credits.balances to credits_service, credits_admin, credits_user, credits_auditor;
