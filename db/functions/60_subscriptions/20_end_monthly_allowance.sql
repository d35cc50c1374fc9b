-- credits_private._end_monthly_allowance(account_id, period_start, at,
-- reason): ends now what is left of the monthly allowance of the period
-- starting `period_start` (a provider's period replaced it before its end:
-- monthly allowances do not accumulate). One `expiry` ledger row per grant; a
-- part held by a hold stays for that hold.

create or replace function credits_private._end_monthly_allowance(account_id text, period_start timestamptz,
                                                                  at timestamptz, reason text)
returns void
language plpgsql
as $$
declare
  v_type text;
  v_grant_id bigint;
begin
  for v_type in
    select distinct g.credit_type
    from credits_private.grants g
    where g.account_id = _end_monthly_allowance.account_id
      and g.source = 'monthly'
      and g.period_start = _end_monthly_allowance.period_start
      and g.is_open
    order by 1
  loop
    perform credits_private._lock_balance(account_id, v_type, at);
    for v_grant_id in
      select g.grant_id
      from credits_private.grants g
      where g.account_id = _end_monthly_allowance.account_id
        and g.credit_type = v_type
        and g.source = 'monthly'
        and g.period_start = _end_monthly_allowance.period_start
        and g.is_open
      order by g.grant_id
    loop
      update credits_private.grants g
      set expired_at = at
      where g.account_id = _end_monthly_allowance.account_id and g.grant_id = v_grant_id;
      perform credits_private._write_off_grant(account_id, v_type, v_grant_id, 'expiry', reason, at);
    end loop;
  end loop;
end
$$;
