-- credits_private._add_rollovers(account_id, rollovers, period_start,
-- period_end, ending, at): writes what a renewal rolls over (`rollovers`:
-- the rows of credits_private._period_rollovers as a JSON array, read
-- before the renewal touched anything): one `rollover` grant per credit
-- type for the period starting `period_start`, ending with it, its reason
-- naming what was unused of which plan's allowance in the period that
-- ended at `ending`. Once per period and credit type (the unique index
-- grants_one_rollover_per_period). The caller holds the account row; for
-- _roll_period, apply_subscription_event (a provider's renewal) and
-- _issue_monthly_allowance (a withheld rollover, when its period is paid).

create or replace function credits_private._add_rollovers(account_id text, rollovers jsonb,
                                                          period_start timestamptz, period_end timestamptz,
                                                          ending timestamptz, at timestamptz)
returns void
language plpgsql
as $$
declare
  v_rollover record;
begin
  for v_rollover in
    select r.* from jsonb_to_recordset(rollovers) as r (credit_type text, amount numeric, unused numeric, plan text)
    order by r.credit_type
  loop
    perform credits_private._add_grant(
      account_id, v_rollover.credit_type, 'rollover', v_rollover.amount, period_end, null, at, period_start,
      reason => format('rollover of %s unused of the monthly allowance of plan %s, period ending %s',
                       v_rollover.unused, v_rollover.plan, ending),
      grant_period_start => period_start);
  end loop;
end
$$;
