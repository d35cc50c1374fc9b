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
-- The settled read (issue 13): while the account's stored period runs, no
-- daily grant of the credit type is pending and its balance row is settled
-- (settle_at ahead: no hold lapsed, no grant ended or started, the test of
-- deduct_credits' conditional UPDATE), available is the row's balance less
-- what is held, and the draws are those of _settled_draw_plan (the
-- grants alone: no pending lot, no lapsed earmark, as for deduct_credits).
-- Otherwise, and for a member of a pool its own grants cannot pay for, the
-- answer is credits_private._feature_check's, through the renewal helpers
-- (db/tests/check_feature/test_settled_read.sql compares the two).
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
  v_spend record;
  v_debt numeric;
  v_grants numeric;
  v_in_pool boolean := false;
begin
  if v_account.period_end > v_now then
    -- The account as it is is the account settled: its rules (_prepare_spend, as _quote reads them).
    v_spend := credits_private._prepare_spend(v_account, feature, units, null, v_now);
    select b.balance - b.held, b.debt into available, v_debt
    from credits_private.balances b
    where b.account_id = v_account.account_id and b.credit_type = v_spend.credit_type
      and (b.settle_at is null or b.settle_at > v_now);
    if found and (v_account.daily_until > v_now
                  or credits_private._pending_daily(v_account, v_spend.credit_type, v_now) = 0) then
      reason := credits_private._spend_reason(v_spend.reason, v_spend.is_demo, v_spend.cost, available,
                                              v_account.account_id, v_spend.credit_type, v_account.plan);
      if reason = 'insufficient_credits' then
        -- Short of credits, a member of a pool may have its pool pay the rest (_quote).
        v_in_pool := exists (select from credits_private.pool_members m where m.account_id = v_account.account_id);
      end if;
      if not v_in_pool then
        allowed := reason is null;
        cost := v_spend.cost;
        period_remaining := case when v_spend.period_limit is not null
                                 then greatest(v_spend.period_limit - v_spend.period_used, 0) end;
        draws := '[]';
        if allowed and cost > 0 then
          v_grants := least(cost, greatest(available + v_debt, 0));
          draws := (select jsonb_agg(d.draw order by d.draw_order)
                    from (select o.draw_order,
                                 jsonb_build_object('grant_id', o.grant_id, 'source', o.source, 'amount', o.take) as draw
                          from credits_private._settled_draw_plan(v_account.account_id, v_spend.credit_type,
                                                                  v_grants) o
                          union all
                          select 2147483647,
                                 jsonb_build_object('grant_id', null, 'source', 'overdraft', 'amount', cost - v_grants)
                          where cost > v_grants) d);
        end if;
        return next;
        return;
      end if;
    end if;
  end if;
  return query select * from credits_private._feature_check(v_account, feature, units, v_now);
end
$$;

comment on function credits.check_feature(text, text, jsonb) is
  'Says whether deduct_credits would allow a call now, what it would cost and which grants would pay; changes nothing.';
revoke all on function credits.check_feature(text, text, jsonb) from public;
grant execute on function credits.check_feature(text, text, jsonb)
  to credits_service, credits_user, credits_auditor;
