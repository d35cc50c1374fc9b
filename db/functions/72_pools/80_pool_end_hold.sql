-- credits_private._pool_end_hold(hold, status, charge, at, metadata): ends
-- the pool's share of a member's hold (hold: the member's, naming it by
-- pool_id and pool_hold_id) when the member's hold is captured or
-- released, under the member's balance lock, then the pool's (lock
-- order: member, then pool). A capture charges `charge` of the share
-- (_end_hold: a capture row of the pool naming the member; the rest
-- released; a charge of 0 releases it all) and counts it in the member's
-- use of its cap (_pool_count). Returns the share's hold row as it was,
-- and the pool's capture row (null when nothing was charged or the share
-- had already lapsed).

create or replace function credits_private._pool_end_hold(hold credits_private.holds, status text, charge numeric,
                                                          at timestamptz, metadata jsonb default '{}',
                                                          out share credits_private.holds, out entry_id bigint)
language plpgsql
as $$
declare
  v_pool credits_private.accounts := credits_private._settle_account(hold.pool_id, at, trusted => true);
begin
  perform credits_private._lock_balance(hold.pool_id, hold.credit_type, at);
  select h.* into strict share
  from credits_private.holds h
  where h.account_id = hold.pool_id and h.hold_id = hold.pool_hold_id;
  if share.status <> 'held' then
    return;
  end if;
  if status = 'captured' and charge > 0 then
    entry_id := credits_private._end_hold(share, 'captured', charge, at, metadata, v_pool.period_start);
    perform credits_private._pool_count(hold.account_id, hold.pool_id, hold.credit_type, v_pool.period_start,
                                        charge, null, null, null, at);
  else
    perform credits_private._end_hold(share, 'released', 0, at);
  end if;
end
$$;
