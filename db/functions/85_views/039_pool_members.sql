-- credits.pool_members: who draws on which pool, with which caps per credit
-- type and period of the pool (docs/contract.md, Teams); what
-- add_pool_member, set_member_caps and remove_pool_member return. A
-- credits_user sees its own membership, and every member of its pool when
-- its JWT claims name the pool in pool_admin (row-level security).

create or replace view credits.pool_members with (security_barrier) as
  select pool_id, account_id as member_id, caps, added_at, updated_at
  from credits_private.pool_members;

comment on view credits.pool_members is
  'Pool memberships: the pool, the member, its caps per credit type and period of the pool (absent: no cap).';
revoke all on credits.pool_members from public;
grant select on credits.pool_members to credits_service, credits_admin, credits_user, credits_auditor;
