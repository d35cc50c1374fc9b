-- credits_private._settle_daily(account, at): issues an account's daily
-- grants for the local day containing `at`: for each credit type of its
-- plan's daily allowance, in credit type order, the balance row is locked,
-- then _daily_due says what is due (a grant the job committed meanwhile is
-- seen, not issued twice), and that becomes a grant ending at the next
-- local midnight; then daily_until moves to that midnight (for any status,
-- so a suspended account is not looked at again that day). The caller holds
-- the account row (FOR NO KEY UPDATE). Its twin for reads is _pending_daily.

create or replace function credits_private._settle_daily(account credits_private.accounts, at timestamptz)
returns credits_private.accounts
language plpgsql
as $$
declare
  v_day date := (at at time zone account.timezone)::date;
  v_end timestamptz := credits_private._local_day_end(account.timezone, at);
  v_credit_type text;
  v_due numeric;
  v_account credits_private.accounts;
begin
  if account.status = 'active' then
    for v_credit_type in
      select e.key
      from credits_private.plans p, jsonb_object_keys(p.daily_allowance) e (key)
      where p.code = account.plan
      order by e.key
    loop
      perform credits_private._lock_balance(account.account_id, v_credit_type, at);
      v_due := credits_private._daily_due(account, v_credit_type, at);
      if v_due > 0 then
        perform credits_private._add_grant(
          account.account_id, v_credit_type, 'daily', v_due, v_end, null, at, account.period_start,
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
