-- credits_private._pool_lock(member_id, credit_type, amount, at): for a
-- member's debit, capture or hold of `amount` from its pool, under the
-- member's balance lock (the caller holds it): settles the pool's account
-- (trusted: the member may not act on the pool itself) and locks and
-- settles the pool's balance row, then says whether the pool may give
-- `amount`: limited_by null, or what refuses it: no_pool (the account is
-- in no pool), pool_inactive (the pool is suspended or closed),
-- pool_balance (the pool has less available) or member_cap (the member's
-- cap for the pool's period would be passed). Lock order: the member's
-- balance, then the pool's account and balance (db/README.md). The
-- member's pool_usage row is written only under the member's balance
-- lock, so reading it here is reading it locked.

create or replace function credits_private._pool_lock(member_id text, credit_type text, amount numeric,
                                                      at timestamptz,
                                                      out pool credits_private.accounts,
                                                      out balance credits_private.balances,
                                                      out cap numeric, out used numeric, out limited_by text)
language plpgsql
as $$
declare
  v_member credits_private.pool_members;
begin
  select m.* into v_member from credits_private.pool_members m where m.account_id = _pool_lock.member_id;
  if not found then
    limited_by := 'no_pool';
    return;
  end if;
  pool := credits_private._settle_account(v_member.pool_id, at, trusted => true);
  if pool.status <> 'active' then
    limited_by := 'pool_inactive';
    return;
  end if;
  balance := credits_private._lock_balance(pool.account_id, credit_type, at);
  cap := (v_member.caps ->> credit_type)::numeric;
  used := credits_private._pool_cap_used(member_id, pool.account_id, credit_type, pool.period_start, at);
  limited_by := case when balance.balance - balance.held < amount then 'pool_balance'
                     when cap is not null and used + amount > cap then 'member_cap' end;
end
$$;
