-- credits_private._open_period(account_id, plan, status, period_start,
-- period_end, at): opens a period: its row, and what _period_allowances
-- says it grants, as grants that end with it (non-cumulative). The caller
-- holds the account row. Its twin for reads is _pending_allowance.

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
    select a.credit_type, a.amount
    from credits_private._period_allowances(_open_period.plan, _open_period.status) a
  loop
    perform credits_private._add_grant(
      account_id, v_allowance.credit_type, 'monthly', v_allowance.amount, period_end, null, at, period_start,
      reason => format('monthly allowance of plan %s', plan), grant_period_start => period_start);
  end loop;
end
$$;
