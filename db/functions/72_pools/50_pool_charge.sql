-- credits_private._pool_charge(member_id, credit_type, amount, at, feature,
-- units, metadata): a member's debit takes `amount` from its pool, under
-- the member's balance lock: _pool_lock decides (limited_by: why not;
-- entry_id null then, and nothing is written), else the pool's balance
-- row moves (its period counters count in the pool's period, so the
-- pool's own threshold events follow), its grants are drawn in burn-down
-- order (_draw), its ledger row names the member (member_id), and the
-- member's use of its cap moves (_pool_count, member_cap_reached).
-- Returns the pool and the pool's ledger row.
--
--   select * from credits_private._pool_charge('u_7', 'credits', 3, credits.now(), 'render', '{}', '{}');

create or replace function credits_private._pool_charge(member_id text, credit_type text, amount numeric,
                                                        at timestamptz, feature text, units jsonb, metadata jsonb,
                                                        out pool_id text, out entry_id bigint,
                                                        out limited_by text)
language plpgsql
as $$
declare
  v_lock record := credits_private._pool_lock(member_id, credit_type, amount, at);
  v_period timestamptz := (v_lock.pool).period_start;
  v_balance credits_private.balances;
begin
  pool_id := (v_lock.pool).account_id;
  limited_by := v_lock.limited_by;
  if limited_by is not null then
    return;
  end if;
  update credits_private.balances b
  set balance = b.balance - amount,
      period_used = credits_private._period_counter(b.period_used, b.period_start, v_period) + amount,
      period_granted = credits_private._period_counter(b.period_granted, b.period_start, v_period),
      period_start = v_period,
      updated_at = at
  where b.account_id = _pool_charge.pool_id and b.credit_type = _pool_charge.credit_type
  returning b.* into v_balance;
  entry_id := credits_private._write_ledger(v_balance, 'debit', -amount, at,
                                            available => v_balance.balance - v_balance.held, feature => feature,
                                            units => units,
                                            draws => credits_private._draw(pool_id, credit_type, amount, at),
                                            metadata => metadata, member_id => member_id);
  perform credits_private._pool_count(member_id, pool_id, credit_type, v_period, amount, v_lock.cap, v_lock.used,
                                      v_lock.used + amount, at);
end
$$;
