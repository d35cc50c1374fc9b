-- credits_private._settled_balance(account, credit_type, at): one balance as
-- the account stands once settled, which is what every read reports
-- (get_balance, check_feature, get_quotas, credits.balances). available is
-- what a debit made now could draw: what is free in the grants that have
-- not ended (_free_grants: a lapsed hold holds nothing) plus what the next
-- mutating call would grant first: the allowance of a period it would open
-- (pending, _pending_allowance) and the day's daily grant (pending_daily,
-- _pending_daily), less the balance's debt (overdraft, migration 0015:
-- negative while in debt, what the next grant repays first). buckets:
-- available per grant source, and -debt as "overdraft" while in debt, so
-- they add up to available. A pending grant repays the debt first, as the
-- settling call will write it (_add_grant): the allowance, then what rolls
-- over, then the daily grant (_settle_account's order), so its bucket
-- shows what it will have left and "overdraft" what none of them repays.
-- Nothing is written. The one meaning of "available".
--
--   select * from credits_private._settled_balance(a, 'credits', credits.now()) from credits_private.accounts a;

create or replace function credits_private._settled_balance(account credits_private.accounts, credit_type text,
                                                            at timestamptz,
                                                            out available numeric, out pending numeric, out pending_daily numeric,
                                                            out buckets jsonb)
language plpgsql
stable
as $$
declare
  -- The part of pending a renewal rolls over: its own bucket, as once written.
  v_rollover numeric := credits_private._pending_rollover(account, credit_type, at);
  v_debt numeric := coalesce((select b.debt from credits_private.balances b
                              where b.account_id = account.account_id and b.credit_type = _settled_balance.credit_type), 0);
  -- What each pending grant will have once it repaid its part of the debt,
  -- and the debt none of them repays.
  v_monthly numeric;
  v_rolled numeric;
  v_daily numeric;
  v_left numeric;
begin
  pending := credits_private._pending_allowance(account, credit_type, at);
  pending_daily := credits_private._pending_daily(account, credit_type, at);
  v_left := v_debt;
  v_monthly := pending - v_rollover - least(pending - v_rollover, v_left);
  v_left := v_left - (pending - v_rollover - v_monthly);
  v_rolled := v_rollover - least(v_rollover, v_left);
  v_left := v_left - (v_rollover - v_rolled);
  v_daily := pending_daily - least(pending_daily, v_left);
  v_left := v_left - (pending_daily - v_daily);
  with free as (
    select f.source, f.free
    from credits_private._free_grants(account.account_id, _settled_balance.credit_type, at) f
  )
  select (select coalesce(sum(free.free), 0.000000) from free) + pending + pending_daily - v_debt,
         coalesce((select jsonb_object_agg(s.source, s.free)
                   from (select b.source, sum(b.free) as free
                         from (select free.source, free.free from free
                               union all
                               select 'monthly', v_monthly where v_monthly > 0
                               union all
                               select 'rollover', v_rolled where v_rolled > 0
                               union all
                               select 'daily', v_daily where v_daily > 0
                               union all
                               select 'overdraft', -v_left where v_left > 0) b
                         group by b.source) s), '{}'::jsonb)
  into available, buckets;
end
$$;
