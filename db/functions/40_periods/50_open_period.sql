-- Opens a period: its row, and for an active account the plan's monthly
-- allowance as grants that end with it (non-cumulative). A suspended or
-- closed account gets none: its credits stay as they are. The caller holds
-- the account row.
create or replace function credits_private._open_period(account_id text, plan text, status text,
                                                        period_start timestamptz, period_end timestamptz,
                                                        at timestamptz)
returns void
language plpgsql
as $$
declare
  v_allowance record;
begin
  insert into credits_private.periods (account_id, period_start, period_end, plan, created_at)
  values (account_id, period_start, period_end, plan, at)
  on conflict on constraint periods_pkey do nothing;
  for v_allowance in
    select e.key as credit_type, e.value::numeric as amount
    from credits_private.plans p, jsonb_each(p.monthly_allowance) e
    where p.code = _open_period.plan and status = 'active'
  loop
    perform credits_private._add_grant(
      account_id, v_allowance.credit_type, 'monthly', v_allowance.amount, period_end, null, at, period_start,
      reason => format('monthly allowance of plan %s', plan), grant_period_start => period_start);
  end loop;
end
$$;
