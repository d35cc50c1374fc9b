-- credits_private._pool_count(member_id, pool_id, credit_type,
-- period_start, delta, cap, used_before, used_after, at): moves what a
-- member took from its pool in the pool's period (pool_usage, reset
-- lazily: a row of an older period starts from zero) by `delta` (a
-- refund gives back, never below zero), and emits member_cap_reached for
-- the member when its use of the cap (_pool_cap_used, before and after
-- the move) rose to the cap: once per crossing. Under the member's
-- balance lock.

create or replace function credits_private._pool_count(member_id text, pool_id text, credit_type text,
                                                       period_start timestamptz, delta numeric, cap numeric,
                                                       used_before numeric, used_after numeric, at timestamptz)
returns void
language plpgsql
as $$
begin
  if delta <> 0 then
    insert into credits_private.pool_usage as u (account_id, pool_id, credit_type, period_start, used, updated_at)
    values (member_id, pool_id, credit_type, period_start, greatest(delta, 0), at)
    on conflict on constraint pool_usage_pkey do update
    set used = greatest(credits_private._period_counter(u.used, u.period_start, excluded.period_start)
                        + _pool_count.delta, 0),
        period_start = excluded.period_start,
        updated_at = excluded.updated_at;
  end if;
  if cap is not null and used_before < cap and used_after >= cap then
    perform credits_private._emit_event(member_id, 'member_cap_reached', credit_type,
                                        jsonb_build_object('pool_id', pool_id, 'cap', cap, 'used', used_after),
                                        at);
  end if;
end
$$;
