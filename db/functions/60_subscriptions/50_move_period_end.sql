-- credits_private._move_period_end(account, period_end, at, ...): moves the
-- end of the account's current period to the provider's `period_end` (same
-- period_start, another end): the account, its period row, and the running
-- monthly grants of the period, which end with it. An end already past ends
-- those grants now. Returns the account.

create or replace function credits_private._move_period_end(account credits_private.accounts,
                                                            period_end timestamptz, at timestamptz, reason text)
returns credits_private.accounts
language plpgsql
as $$
declare
  v_account credits_private.accounts;
  v_type text;
begin
  update credits_private.accounts a
  set period_end = _move_period_end.period_end, updated_at = at
  where a.account_id = account.account_id
  returning a.* into v_account;
  update credits_private.periods p
  set period_end = _move_period_end.period_end
  where p.account_id = account.account_id and p.period_start = account.period_start;
  if period_end <= at then
    perform credits_private._end_monthly_allowance(account.account_id, account.period_start, at, reason);
    return v_account;
  end if;
  for v_type in
    select distinct g.credit_type
    from credits_private.grants g
    where g.account_id = account.account_id
      and g.source = 'monthly'
      and g.period_start = account.period_start
      and g.is_open
    order by 1
  loop
    perform credits_private._lock_balance(account.account_id, v_type, at);
    update credits_private.grants g
    set expires_at = _move_period_end.period_end
    where g.account_id = account.account_id
      and g.credit_type = v_type
      and g.source = 'monthly'
      and g.period_start = account.period_start
      and g.is_open;
    update credits_private.balances b
    set settle_at = least(b.settle_at, _move_period_end.period_end), updated_at = at
    where b.account_id = account.account_id and b.credit_type = v_type;
  end loop;
  return v_account;
end
$$;
