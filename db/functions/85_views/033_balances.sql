-- credits.balances: per account and credit type, the materialized balance
-- (credits owned, held included), what live holds hold, and what is
-- available now, as credits_private._free_grants counts it: grants that have
-- ended are not counted and holds that have lapsed hold nothing, even
-- before they are settled. (Written out here: a view cannot call a private
-- function that reads private tables with the caller's rights.)

create or replace view credits.balances with (security_barrier) as
  select b.account_id, b.credit_type, b.balance,
         coalesce((select sum(h.amount) from credits_private.holds h
                   where h.account_id = b.account_id and h.credit_type = b.credit_type and h.status = 'held'
                     and h.expires_at > credits.now()), 0.000000)::numeric(30,6) as held,
         coalesce((select sum(g.remaining - g.held) from credits_private.grants g
                   where g.account_id = b.account_id and g.credit_type = b.credit_type and g.is_open
                     and (g.expires_at is null or g.expires_at > credits.now())), 0.000000)
           + coalesce((select sum((e.value ->> 'amount')::numeric)
                       from credits_private.holds h, jsonb_array_elements(h.earmarks) e, credits_private.grants g
                       where h.account_id = b.account_id and h.credit_type = b.credit_type and h.status = 'held'
                         and h.expires_at <= credits.now()
                         and g.account_id = h.account_id and g.grant_id = (e.value ->> 'grant_id')::bigint
                         and g.is_open and (g.expires_at is null or g.expires_at > credits.now())), 0.000000)
           as available,
         b.updated_at
  from credits_private.balances b;

comment on view credits.balances is
  'Balances per account and credit type: balance (credits owned), held, and available now.';
revoke all on credits.balances from public;
grant select on credits.balances to credits_service, credits_admin, credits_user, credits_auditor;
