-- credits.check_feature(account_id, feature, units): would deduct_credits
-- allow this call now, what would it cost, and which grants would pay how
-- much (draws, in burn-down order; for a member of a pool whose own grants
-- fall short, then the pool's grants, each draw naming the pool_id).
-- available is the account's own; get_balance says what its pool adds.
-- Overdraft (docs/contract.md, Billing depth): a call its grants cannot pay
-- is allowed down to the plan's limit (available goes negative), the part
-- no grant would pay the last draw {"grant_id": null, "source":
-- "overdraft", "amount": ..}; the grants' part counts what a pending grant
-- would repay of the debt first. Changes nothing.
-- reason: null, account_inactive, feature_not_in_plan, period_limit_reached
-- or insufficient_credits. Errors: PT404, PT422, 42501.
--
--   select allowed, reason, cost, draws from credits.check_feature('u_42', 'chat', '{"output_tokens": 800}');

create or replace function credits.check_feature(account_id text, feature text, units jsonb default '{}')
returns table (allowed boolean, reason text, cost numeric, available numeric, period_remaining integer,
               draws jsonb)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts := credits_private._account_to_read(account_id);
  v_quote record;
  v_own numeric;
  v_debt numeric;
  -- What the grants would pay (the rest is overdraft), once settled: the
  -- free grants are available plus what of the debt a pending grant would
  -- not repay.
  v_grants numeric;
begin
  -- Report the account as it stands once settled: a period that has ended
  -- is replaced by the current one, with its allowance, and a daily grant
  -- the next mutating call would issue counts as issued (credits_private._quote).
  v_quote := credits_private._quote(v_account, feature, units, v_now);
  v_own := v_quote.cost - coalesce(v_quote.pool_share, 0);
  v_debt := coalesce((select b.debt from credits_private.balances b
                      where b.account_id = v_account.account_id and b.credit_type = v_quote.credit_type), 0);
  v_grants := least(v_own, greatest(v_quote.available + v_debt - least(v_debt, v_quote.pending + v_quote.pending_daily),
                                    0));
  return query
  select v_quote.reason is null,
         v_quote.reason,
         v_quote.cost,
         v_quote.available,
         case when v_quote.period_limit is not null
              then greatest(v_quote.period_limit - v_quote.period_used, 0) end,
         coalesce((select jsonb_agg(d.draw order by d.pooled, d.draw_order)
                   from (select false as pooled, o.draw_order,
                                jsonb_build_object('grant_id', o.grant_id, 'source', o.source, 'amount', o.take) as draw
                         from credits_private._draw_plan(account_id, v_quote.credit_type, v_grants, v_now,
                                                         v_quote.pending, v_quote.period_end, v_quote.pending_daily,
                                                         credits_private._local_day_end(v_account.timezone, v_now)) o
                         union all
                         select false, 2147483647,
                                jsonb_build_object('grant_id', null, 'source', 'overdraft', 'amount', v_own - v_grants)
                         where v_own > v_grants
                         union all
                         select true, p.draw_order,
                                jsonb_build_object('grant_id', p.grant_id, 'source', p.source, 'amount', p.take,
                                                   'pool_id', v_quote.pool_id)
                         from credits_private._draw_plan(v_quote.pool_id, v_quote.credit_type, v_quote.pool_share,
                                                         v_now, v_quote.pool_pending, v_quote.pool_period_end,
                                                         v_quote.pool_pending_daily, v_quote.pool_day_end) p
                         where v_quote.pool_id is not null) d
                   where v_quote.reason is null and v_quote.cost > 0), '[]'::jsonb);
end
$$;

comment on function credits.check_feature(text, text, jsonb) is
  'Says whether deduct_credits would allow a call now, what it would cost and which grants would pay; changes nothing.';
revoke all on function credits.check_feature(text, text, jsonb) from public;
grant execute on function credits.check_feature(text, text, jsonb)
  to credits_service, credits_user, credits_auditor;
