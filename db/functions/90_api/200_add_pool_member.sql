-- credits.add_pool_member(pool_id, member_id, caps): makes member_id draw
-- on pool_id once its own grants fall short (docs/contract.md, Teams),
-- taking at most caps[credit type] from the pool in one of the pool's
-- periods (null or absent: no cap). pool_id becomes a pool. An account is
-- a member of at most one pool, and pools do not nest: a pool is no
-- member, a member no pool. Adding a member again with the same caps
-- changes nothing. Service and admin. Errors: PT404 unknown account or
-- credit type; PT422 bad caps, an account its own member, nesting; PT409
-- a member of another pool, or of this one with other caps.
--
--   select * from credits.add_pool_member('team_1', 'u_7', '{"credits": 50}');

create or replace function credits.add_pool_member(pool_id text, member_id text, caps jsonb default '{}')
returns credits.pool_members
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_caps jsonb := credits_private._check_caps(caps);
  v_member credits_private.pool_members;
begin
  perform credits_private._account_to_act(add_pool_member.pool_id),
          credits_private._account_to_act(add_pool_member.member_id);
  if add_pool_member.pool_id = add_pool_member.member_id then
    raise exception 'account % cannot be a member of its own pool', member_id
      using errcode = 'PT422', hint = 'Name another account as the member.';
  end if;
  -- Membership changes are rare: one at a time, so that two cannot nest
  -- pools or put a member in two pools between them.
  perform pg_advisory_xact_lock(hashtext('credits.pool_members'));
  select m.* into v_member from credits_private.pool_members m where m.account_id = add_pool_member.member_id;
  if found then
    if v_member.pool_id <> add_pool_member.pool_id then
      raise exception 'account % is already a member of pool %', member_id, v_member.pool_id
        using errcode = 'PT409', hint = 'An account draws on one pool: remove it there first (remove_pool_member).';
    elsif v_member.caps <> v_caps then
      raise exception 'account % is a member of pool % with caps %, not %', member_id, v_member.pool_id,
                      v_member.caps, v_caps
        using errcode = 'PT409', hint = 'Change its caps with credits.set_member_caps.';
    end if;
  else
    if exists (select from credits_private.pools p where p.account_id = add_pool_member.member_id) then
      raise exception 'account % is a pool and cannot be a member of pool %: pools do not nest', member_id, pool_id
        using errcode = 'PT422', hint = 'Add the pool''s members to the other pool instead.';
    end if;
    select m.* into v_member from credits_private.pool_members m where m.account_id = add_pool_member.pool_id;
    if found then
      raise exception 'account % is a member of pool % and cannot be a pool: pools do not nest', pool_id,
                      v_member.pool_id
        using errcode = 'PT422', hint = 'Remove it from that pool first, or add the member to that pool.';
    end if;
    insert into credits_private.pools (account_id, created_at) values (add_pool_member.pool_id, v_now)
    on conflict do nothing;
    insert into credits_private.pool_members as m (account_id, pool_id, caps, added_at, updated_at)
    values (add_pool_member.member_id, add_pool_member.pool_id, v_caps, v_now, v_now)
    returning m.* into v_member;
  end if;
  return (v_member.pool_id, v_member.account_id, v_member.caps, v_member.added_at,
          v_member.updated_at)::credits.pool_members;
end
$$;

comment on function credits.add_pool_member(text, text, jsonb) is
  'Makes an account a member of a pool: its debits draw on the pool once its own grants fall short, within its caps per credit type and period; service and admin.';
revoke all on function credits.add_pool_member(text, text, jsonb) from public;
grant execute on function credits.add_pool_member(text, text, jsonb) to credits_service;
