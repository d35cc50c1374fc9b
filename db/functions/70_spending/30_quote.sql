-- credits_private._quote(account, feature, units, at): what check_feature
-- says of a call, for the stored account row (a read: nothing is settled or
-- written). The account as settling would leave it (a period that has
-- ended replaced by the current one, credits_private._as_settled) decides
-- the rules (_prepare_spend); what is available counts the allowance of a
-- period not opened yet and a daily grant the next mutating call would
-- issue as issued. reason adds insufficient_credits to _prepare_spend's
-- refusals, unless the account is a member of a pool that pays the rest
-- (pool_id, and pool_share: what the pool would pay, with what
-- _draw_plan needs to preview it; null when its own grants cover the
-- cost). Overdraft (migration 0015): allowed while available less the
-- cost stays at or above minus the plan's limit (credits_private._overdraft,
-- read only when available is short; none for a member of a pool); what the
-- grants cannot pay is then debt, as deduct_credits decides under the lock.
-- The one rule of check_feature and get_quotas.

create or replace function credits_private._quote(account credits_private.accounts, feature text, units jsonb,
                                                  at timestamptz,
                                                  out credit_type text, out cost numeric, out reason text,
                                                  out available numeric, out period_limit integer,
                                                  out period_used integer, out pending numeric,
                                                  out pending_daily numeric, out period_end timestamptz,
                                                  out pool_id text, out pool_share numeric,
                                                  out pool_pending numeric, out pool_pending_daily numeric,
                                                  out pool_period_end timestamptz, out pool_day_end timestamptz)
language plpgsql
stable
as $$
declare
  v_settled credits_private.accounts := credits_private._as_settled(account, at);
  v_spend record := credits_private._prepare_spend(v_settled, feature, units, null, at);
  v_spendable numeric;
begin
  credit_type := v_spend.credit_type;
  cost := v_spend.cost;
  period_limit := v_spend.period_limit;
  period_used := v_spend.period_used;
  period_end := v_settled.period_end;
  select s.available, s.pending, s.pending_daily into available, pending, pending_daily
  from credits_private._settled_balance(account, credit_type, at) s;
  reason := credits_private._spend_reason(v_spend.reason, v_spend.is_demo, cost, available, account.account_id,
                                          credit_type, v_settled.plan);
  if reason = 'insufficient_credits' then
    -- A member of a pool: the pool pays the rest, if it has it within the
    -- member's cap (credits_private._pool_slice; deduct_credits'
    -- _pool_charge decides the same under the locks).
    select ps.pool_id, cost - greatest(available, 0), ps.pool_pending, ps.pool_pending_daily, ps.pool_period_end,
           ps.pool_day_end, ps.spendable
    into pool_id, pool_share, pool_pending, pool_pending_daily, pool_period_end, pool_day_end, v_spendable
    from credits_private._pool_slice(account.account_id, credit_type, at) ps;
    if pool_id is not null and pool_share <= v_spendable then
      reason := null;
    else
      pool_id := null;
      pool_share := null;
    end if;
  end if;
end
$$;
