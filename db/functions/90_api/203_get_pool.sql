-- credits.get_pool(pool_id): the members of a pool, one row each: caps
-- per credit type, used this period per credit type (what it took from
-- the pool in the pool's current period, as it stands once settled, and
-- what its live holds on the pool hold), cap_remaining per capped credit
-- type, and the pool's period. Service, admin and the auditor see every
-- member; a credits_user that is a member sees its own row, and every
-- member's when its JWT claims name the pool in pool_admin
-- ({"sub": "u_7", "pool_admin": ["team_1"]}). Changes nothing. Errors:
-- PT404 unknown account, or one that is no pool; 42501 a credits_user
-- that is not a member of the pool.
--
--   select member_id, caps, used_this_period from credits.get_pool('team_1');

create or replace function credits.get_pool(pool_id text)
returns table (member_id text, caps jsonb, used_this_period jsonb, cap_remaining jsonb,
               period_start timestamptz, period_end timestamptz, added_at timestamptz)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_pool credits_private.accounts;
  v_period record;
begin
  if not credits_private._caller_sees_all() then
    if get_pool.pool_id is distinct from credits_private._caller_pool() then
      raise exception 'caller may not read pool %', credits_private._shown(pool_id)
        using errcode = '42501',
              detail = format('role %s, subject %s', coalesce(credits_private._caller_role(), 'none'),
                              coalesce(credits_private._caller_sub(), 'none')),
              hint = 'A credits_user reads only the pool it is a member of.';
    end if;
  end if;
  select a.* into v_pool from credits_private.accounts a where a.account_id = get_pool.pool_id;
  if not found or not exists (select from credits_private.pools p where p.account_id = get_pool.pool_id) then
    raise exception '% is no pool', credits_private._shown(pool_id)
      using errcode = 'PT404', hint = 'An account becomes a pool with credits.add_pool_member.';
  end if;
  v_period := credits_private._current_period(v_pool, v_now);
  -- Row-level security narrows the members to the caller's own row unless
  -- its claims name the pool in pool_admin.
  return query
  select m.account_id, m.caps,
         coalesce((select jsonb_object_agg(t.credit_type, credits_private._pool_cap_used(
                            m.account_id, m.pool_id, t.credit_type, v_period.period_start, v_now) order by t.credit_type)
                   from (select k.key as credit_type from jsonb_object_keys(m.caps) k (key)
                         union
                         select u.credit_type from credits_private.pool_usage u
                         where u.account_id = m.account_id and u.pool_id = m.pool_id
                         union
                         select h.credit_type from credits_private.holds h
                         where h.account_id = m.pool_id and h.member_id = m.account_id and h.status = 'held') t),
                  '{}'::jsonb),
         coalesce((select jsonb_object_agg(c.key, greatest(c.value::numeric - credits_private._pool_cap_used(
                            m.account_id, m.pool_id, c.key, v_period.period_start, v_now), 0) order by c.key)
                   from jsonb_each_text(m.caps) c), '{}'::jsonb),
         v_period.period_start, v_period.period_end, m.added_at
  from credits_private.pool_members m
  where m.pool_id = get_pool.pool_id
  order by m.account_id;
end
$$;

comment on function credits.get_pool(text) is
  'The members of a pool with their caps, what each used this period and what is left of each cap; a member sees its own row, a pool_admin every row; read-only.';
revoke all on function credits.get_pool(text) from public;
grant execute on function credits.get_pool(text) to credits_service, credits_user, credits_auditor;
