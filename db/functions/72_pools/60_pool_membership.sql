-- credits_private._pool_membership(pool_id, member_id): the membership of
-- member_id in pool_id, for the admin functions (service and admin reach
-- every account). Errors: PT422 an empty id; PT404 an unknown account, or
-- member_id not a member of pool_id (naming the pool it is in, if any).

create or replace function credits_private._pool_membership(pool_id text, member_id text)
returns credits_private.pool_members
language plpgsql
stable
as $$
declare
  v_member credits_private.pool_members;
begin
  perform credits_private._account_to_act(pool_id), credits_private._account_to_act(member_id);
  select m.* into v_member from credits_private.pool_members m where m.account_id = _pool_membership.member_id;
  if not found or v_member.pool_id <> pool_id then
    raise exception 'account % is not a member of pool %', member_id, pool_id
      using errcode = 'PT404',
            detail = case when v_member.pool_id is not null then format('it is a member of pool %s', v_member.pool_id)
                          else 'it is in no pool' end,
            hint = 'Add it with credits.add_pool_member.';
  end if;
  return v_member;
end
$$;
