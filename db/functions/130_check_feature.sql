-- credits.check_feature(account_id, feature, units): would deduct_credits
-- allow this call now, what would it cost, and which grants would pay how
-- much (draws, in burn-down order). Changes nothing.
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
  v_account credits_private.accounts := credits_private._account(account_id, false);
  v_stored credits_private.accounts := v_account;
  v_quote record;
  v_pending numeric;
  v_pending_daily numeric;
  v_available numeric;
  v_reason text;
begin
  -- Report the account as it stands once settled: a period that has ended
  -- is replaced by the current one, with its allowance, and a daily grant
  -- the next mutating call would issue counts as issued.
  v_account := credits_private._as_settled(v_stored, v_now);
  v_quote := credits_private._prepare_spend(v_account, feature, units, null, v_now);
  v_pending := credits_private._pending_allowance(v_stored, v_quote.credit_type, v_now);
  v_pending_daily := credits_private._pending_daily(v_stored, v_quote.credit_type, v_now);
  v_available := credits_private._available(account_id, v_quote.credit_type, v_now) + v_pending + v_pending_daily;
  v_reason := coalesce(v_quote.reason,
                       case when not v_quote.is_demo and v_available < v_quote.cost
                            then 'insufficient_credits' end);
  return query
  select v_reason is null,
         v_reason,
         v_quote.cost,
         v_available,
         case when v_quote.period_limit is not null
              then greatest(v_quote.period_limit - v_quote.period_used, 0) end,
         coalesce((select jsonb_agg(jsonb_build_object('grant_id', d.grant_id, 'source', d.source,
                                                       'amount', d.take) order by d.draw_order)
                   from credits_private._draw_plan(account_id, v_quote.credit_type, v_quote.cost, v_now,
                                                   v_pending, v_account.period_end, v_pending_daily,
                                                   credits_private._local_day_end(v_stored.timezone, v_now)) d
                   where v_reason is null and v_quote.cost > 0), '[]'::jsonb);
end
$$;

comment on function credits.check_feature(text, text, jsonb) is
  'Says whether deduct_credits would allow a call now, its cost, what is available, the period quota left, and which grants would pay (draws). Changes nothing.';
revoke all on function credits.check_feature(text, text, jsonb) from public;
grant execute on function credits.check_feature(text, text, jsonb)
  to credits_service, credits_user, credits_auditor;
