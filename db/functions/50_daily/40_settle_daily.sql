-- Settles an account's daily grants for the local day containing `at`: for
-- an active account, every credit type of its plan's daily allowance that
-- has no daily grant for that day gets one, ending at the next local
-- midnight; then daily_until moves to that midnight (for any status, so a
-- suspended account is not looked at again that day). The caller holds
-- the account row (FOR NO KEY UPDATE). Balance rows are locked in credit
-- type order, each before its grant is looked for, as grant_daily_credits
-- does: a grant the job committed meanwhile is seen, not issued twice.
create or replace function credits_private._settle_daily(account credits_private.accounts, at timestamptz)
returns credits_private.accounts
language plpgsql
as $$
declare
  v_day date := (at at time zone account.timezone)::date;
  v_end timestamptz := credits_private._local_day_end(account.timezone, at);
  v_allowance record;
  v_account credits_private.accounts;
begin
  if account.status = 'active' then
    for v_allowance in
      select e.key as credit_type, e.value::numeric as amount
      from credits_private.plans p, jsonb_each(p.daily_allowance) e
      where p.code = account.plan
      order by e.key
    loop
      perform credits_private._lock_balance(account.account_id, v_allowance.credit_type, at);
      if not exists (select
                     from credits_private.grants g
                     where g.account_id = account.account_id
                       and g.credit_type = v_allowance.credit_type
                       and g.source = 'daily'
                       and g.local_day = v_day) then
        perform credits_private._add_grant(
          account.account_id, v_allowance.credit_type, 'daily', v_allowance.amount, v_end, null, at,
          account.period_start,
          reason => format('daily allowance of plan %s for %s', account.plan, v_day), local_day => v_day);
      end if;
    end loop;
  end if;
  update credits_private.accounts a
  set daily_until = v_end
  where a.account_id = account.account_id
  returning a.* into v_account;
  return v_account;
end
$$;
