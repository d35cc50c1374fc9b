-- credits.balances: per account and credit type, the materialized balance
-- (credits owned, held included), the held part, and what is available now
-- (grants that have ended are not counted, even before expiry is settled).

create or replace view credits.balances with (security_barrier) as
  select b.account_id, b.credit_type, b.balance, b.held,
         coalesce((select sum(g.remaining - g.held)
                   from credits_private.grants g
                   where g.account_id = b.account_id
                     and g.credit_type = b.credit_type
                     and g.is_open
                     and (g.expires_at is null or g.expires_at > credits.now())), 0) as available,
         b.updated_at
  from credits_private.balances b;

comment on view credits.balances is
  'Balances per account and credit type: balance (credits owned), held, and available now.';
revoke all on credits.balances from public;
grant select on credits.balances to credits_service, credits_admin, credits_user, credits_auditor;
