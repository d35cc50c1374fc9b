-- credits_private._feature_check(account, feature, units, at): check_feature's
-- row for an account in any state, through the renewal helpers
-- (credits_private._quote: a pending allowance, the day's daily grant, the
-- pool that pays the rest): what check_feature answers when its settled
-- read does not apply (credits.check_feature), and what that read is
-- checked against (db/tests/check_feature). The grants' part of the cost
-- counts what a pending grant would repay of the debt first; what no grant
-- would pay is the last draw, {"grant_id": null, "source": "overdraft"}.
--
--   select * from credits_private._feature_check(a, 'chat', '{}', credits.now()) from credits_private.accounts a where ...;

create or replace function credits_private._feature_check(account credits_private.accounts, feature text, units jsonb,
                                                          at timestamptz)
returns table (allowed boolean, reason text, cost numeric, available numeric, period_remaining integer,
               draws jsonb)
language plpgsql
stable
as $$
declare
  v_quote record := credits_private._quote(account, feature, units, at);
  v_own numeric := v_quote.cost - coalesce(v_quote.pool_share, 0);
  v_debt numeric := coalesce((select b.debt from credits_private.balances b
                              where b.account_id = account.account_id and b.credit_type = v_quote.credit_type), 0);
  -- What the grants would pay (the rest is overdraft), once settled: the
  -- free grants are available plus what of the debt a pending grant would
  -- not repay.
  v_grants numeric := least(v_own, greatest(v_quote.available + v_debt
                                            - least(v_debt, v_quote.pending + v_quote.pending_daily), 0));
begin
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
                         from credits_private._draw_plan(account.account_id, v_quote.credit_type, v_grants, at,
                                                         v_quote.pending, v_quote.period_end, v_quote.pending_daily,
                                                         credits_private._local_day_end(account.timezone, at)) o
                         union all
                         select false, 2147483647,
                                jsonb_build_object('grant_id', null, 'source', 'overdraft', 'amount', v_own - v_grants)
                         where v_own > v_grants
                         union all
                         select true, p.draw_order,
                                jsonb_build_object('grant_id', p.grant_id, 'source', p.source, 'amount', p.take,
                                                   'pool_id', v_quote.pool_id)
                         from credits_private._draw_plan(v_quote.pool_id, v_quote.credit_type, v_quote.pool_share,
                                                         at, v_quote.pool_pending, v_quote.pool_period_end,
                                                         v_quote.pool_pending_daily, v_quote.pool_day_end) p
                         where v_quote.pool_id is not null) d
                   where v_quote.reason is null and v_quote.cost > 0), '[]'::jsonb);
end
$$;
