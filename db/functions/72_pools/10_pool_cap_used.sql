-- credits_private._pool_cap_used(member_id, pool_id, credit_type,
-- period_start, at): how much of its cap a member has used in the pool's
-- period starting period_start: what it took from the pool in that period
-- (pool_usage, reset lazily through _period_counter) plus what its live
-- holds on the pool hold (a lapsed hold holds nothing, even before it is
-- settled). The one meaning of "used" of a cap: reads and writes call it.
--
--   select credits_private._pool_cap_used('u_7', 'team_1', 'credits', a.period_start, credits.now())
--   from credits_private.accounts a where a.account_id = 'team_1';

create or replace function credits_private._pool_cap_used(member_id text, pool_id text, credit_type text,
                                                          period_start timestamptz, at timestamptz)
returns numeric
language plpgsql
stable
as $$
begin
  return coalesce((select credits_private._period_counter(u.used, u.period_start, _pool_cap_used.period_start)
                   from credits_private.pool_usage u
                   where u.account_id = _pool_cap_used.member_id and u.pool_id = _pool_cap_used.pool_id
                     and u.credit_type = _pool_cap_used.credit_type), 0.000000)
       + coalesce((select sum(h.amount)
                   from credits_private.holds h
                   where h.account_id = _pool_cap_used.pool_id and h.member_id = _pool_cap_used.member_id
                     and h.credit_type = _pool_cap_used.credit_type and h.status = 'held'
                     and h.expires_at > _pool_cap_used.at), 0.000000);
end
$$;
