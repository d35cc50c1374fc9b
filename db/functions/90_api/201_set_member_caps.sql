-- credits.set_member_caps(pool_id, member_id, caps): replaces a member's
-- caps (per credit type, per period of the pool; null or absent: no cap).
-- What it already used this period stays used: a lower cap than that
-- leaves nothing more to take. Service and admin. Errors: PT404 unknown
-- account or credit type, or not a member of that pool; PT422 bad caps.
--
--   select * from credits.set_member_caps('team_1', 'u_7', '{"credits": 80}');

create or replace function credits.set_member_caps(pool_id text, member_id text, caps jsonb)
returns credits.pool_members
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caps jsonb := credits_private._check_caps(caps);
  v_member credits_private.pool_members := credits_private._pool_membership(pool_id, member_id);
begin
  update credits_private.pool_members m
  set caps = v_caps, updated_at = credits.now()
  where m.account_id = v_member.account_id
  returning m.* into v_member;
  return (v_member.pool_id, v_member.account_id, v_member.caps, v_member.added_at,
          v_member.updated_at)::credits.pool_members;
end
$$;

comment on function credits.set_member_caps(text, text, jsonb) is
  'Replaces a pool member''s caps per credit type and period of the pool (null or absent: no cap); service and admin.';
revoke all on function credits.set_member_caps(text, text, jsonb) from public;
grant execute on function credits.set_member_caps(text, text, jsonb) to credits_service;
