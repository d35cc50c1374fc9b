-- credits_private._pool_hold(member_id, credit_type, amount, at, feature,
-- units, expires_at, maker_role): a member's hold takes `amount` of its
-- pool's credits, under the member's balance lock: _pool_lock decides
-- (limited_by: why not; nothing written then), else the pool's grants are
-- earmarked (_earmark) and the pool's share of the hold is a hold row of
-- the pool naming the member (member_id), lapsing with the member's hold
-- at expires_at, clamped to 15 minutes past the pool's given grants it
-- earmarks (returned as expires_at). While it lives it counts against the
-- member's cap (_pool_cap_used). Returns the pool and the share's hold id.

create or replace function credits_private._pool_hold(member_id text, credit_type text, amount numeric,
                                                      at timestamptz, feature text, units jsonb,
                                                      inout expires_at timestamptz, maker_role text,
                                                      out pool_id text, out hold_id bigint, out limited_by text)
language plpgsql
as $$
declare
  v_lock record := credits_private._pool_lock(member_id, credit_type, amount, at);
  v_earmark record;
begin
  pool_id := (v_lock.pool).account_id;
  limited_by := v_lock.limited_by;
  if limited_by is not null then
    return;
  end if;
  v_earmark := credits_private._earmark(pool_id, credit_type, amount, at);
  expires_at := least(expires_at, v_earmark.given_end + interval '15 minutes');
  update credits_private.balances b
  set held = b.held + amount, settle_at = least(b.settle_at, _pool_hold.expires_at), updated_at = at
  where b.account_id = _pool_hold.pool_id and b.credit_type = _pool_hold.credit_type;
  insert into credits_private.holds as h
    (account_id, credit_type, feature, units, amount, expires_at, earmarks, actor, maker_role, created_at, member_id)
  values
    (pool_id, credit_type, feature, units, amount, expires_at, v_earmark.earmarks, credits_private._actor(),
     maker_role, at, member_id)
  returning h.hold_id into hold_id;
  perform credits_private._pool_count(member_id, pool_id, credit_type, (v_lock.pool).period_start, 0, v_lock.cap,
                                      v_lock.used, v_lock.used + amount, at);
end
$$;
