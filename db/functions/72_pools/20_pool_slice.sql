-- credits_private._pool_slice(member_id, credit_type, at): a member's slice
-- of its pool as it stands once settled, for reads (get_balance, the
-- quotes of check_feature and get_quotas, get_pool): its pool (null: the
-- account is in no pool), its cap for the credit type (null: none), how
-- much of it is used (_pool_cap_used) and remains, what the pool has
-- available (_settled_balance; nothing while the pool is suspended or
-- closed) and what the member may draw from it now: the lesser of the two;
-- and what _draw_plan needs to preview the pool's draws (its pending
-- allowances and when they would end).
-- Locks and writes nothing; one index probe for an account in no pool.
--
--   select * from credits_private._pool_slice('u_7', 'credits', credits.now());

create or replace function credits_private._pool_slice(member_id text, credit_type text, at timestamptz,
                                                       out pool_id text, out cap numeric, out cap_used numeric,
                                                       out cap_remaining numeric, out pool_available numeric,
                                                       out spendable numeric, out pool_period_start timestamptz,
                                                       out pool_period_end timestamptz, out pool_pending numeric,
                                                       out pool_pending_daily numeric, out pool_day_end timestamptz)
language plpgsql
stable
as $$
declare
  v_pool credits_private.accounts;
begin
  select m.pool_id, (m.caps ->> _pool_slice.credit_type)::numeric into pool_id, cap
  from credits_private.pool_members m
  where m.account_id = _pool_slice.member_id;
  if not found then
    return;
  end if;
  select a.* into v_pool from credits_private.accounts a where a.account_id = _pool_slice.pool_id;
  select p.period_start, p.period_end into pool_period_start, pool_period_end
  from credits_private._current_period(v_pool, at) p;
  pool_day_end := credits_private._local_day_end(v_pool.timezone, at);
  cap_used := credits_private._pool_cap_used(member_id, pool_id, credit_type, pool_period_start, at);
  cap_remaining := case when cap is not null then greatest(cap - cap_used, 0) end;
  select case when v_pool.status = 'active' then sb.available else 0.000000 end, sb.pending, sb.pending_daily
  into pool_available, pool_pending, pool_pending_daily
  from credits_private._settled_balance(v_pool, credit_type, at) sb;
  -- Never below 0: a pool in debt (its own overdraft) gives its members nothing.
  spendable := greatest(least(pool_available, coalesce(cap_remaining, pool_available)), 0);
end
$$;
