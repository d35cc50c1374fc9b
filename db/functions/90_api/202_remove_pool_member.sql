-- credits.remove_pool_member(pool_id, member_id): the member draws on the
-- pool no more, from the next statement of any transaction. Its holds on
-- the pool stay until captured, released or lapsed; what it used of its
-- cap this period is kept (joining again in the period does not reset
-- it). Returns the membership as it was. The account stays a pool.
-- Service and admin. Errors: PT404 unknown account, or not a member of
-- that pool.
--
--   select * from credits.remove_pool_member('team_1', 'u_7');

create or replace function credits.remove_pool_member(pool_id text, member_id text)
returns credits.pool_members
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_member credits_private.pool_members := credits_private._pool_membership(pool_id, member_id);
begin
  perform pg_advisory_xact_lock(hashtext('credits.pool_members'));
  delete from credits_private.pool_members m where m.account_id = v_member.account_id;
  return (v_member.pool_id, v_member.account_id, v_member.caps, v_member.added_at,
          v_member.updated_at)::credits.pool_members;
end
$$;

comment on function credits.remove_pool_member(text, text) is
  'Removes a member from its pool: its debits no longer draw on it; returns the membership as it was; service and admin.';
revoke all on function credits.remove_pool_member(text, text) from public;
grant execute on function credits.remove_pool_member(text, text) to credits_service;
