-- credits_private._issue_monthly_allowance(account, at, top_up, reason,
-- metadata): issues the monthly allowance of the account's plan for its
-- current period, per credit type, where the period has no monthly grant yet.
-- With top_up (an upgrade), a running monthly grant smaller than the plan's
-- allowance grows to it: its amount becomes the allowance and its remaining
-- grows by the difference, so what is left is the new allowance less what was
-- already used of the period's allowance (100 with 30 used, upgraded to 500:
-- 470 left). That difference is one `adjustment` ledger row naming the grant.
-- What the renewal into the period withheld with its allowance (a past_due
-- provider period: periods.withheld_rollovers) is issued after it, once.
-- Nothing for a suspended or closed account, nor for a period that has ended.

create or replace function credits_private._issue_monthly_allowance(account credits_private.accounts,
                                                                    at timestamptz, top_up boolean,
                                                                    reason text, metadata jsonb default '{}')
returns void
language plpgsql
as $$
declare
  v_allowance record;
  v_grant credits_private.grants;
  v_delta numeric;
  v_balance credits_private.balances;
  v_withheld jsonb;
begin
  if account.status <> 'active' or account.period_end <= at then
    return;
  end if;
  for v_allowance in
    select a.credit_type, a.amount
    from credits_private._period_allowances(account.plan, account.status) a
    order by a.credit_type
  loop
    perform credits_private._lock_balance(account.account_id, v_allowance.credit_type, at);
    select g.* into v_grant
    from credits_private.grants g
    where g.account_id = account.account_id
      and g.credit_type = v_allowance.credit_type
      and g.source = 'monthly'
      and g.period_start = account.period_start;
    if not found then
      perform credits_private._add_grant(
        account.account_id, v_allowance.credit_type, 'monthly', v_allowance.amount, account.period_end, null, at,
        account.period_start, reason => reason, grant_period_start => account.period_start);
    elsif top_up and v_grant.amount < v_allowance.amount and v_grant.voided_at is null
          and v_grant.expired_at is null and v_grant.expires_at > at then
      v_delta := v_allowance.amount - v_grant.amount;
      update credits_private.grants g
      set amount = v_allowance.amount, remaining = g.remaining + v_delta
      where g.account_id = account.account_id and g.grant_id = v_grant.grant_id;

      update credits_private.balances b
      set balance = b.balance + v_delta,
          settle_at = least(b.settle_at, v_grant.expires_at),
          period_granted = credits_private._period_counter(b.period_granted, b.period_start, account.period_start)
                           + v_delta,
          period_used = credits_private._period_counter(b.period_used, b.period_start, account.period_start),
          period_start = account.period_start,
          updated_at = at
      where b.account_id = account.account_id and b.credit_type = v_allowance.credit_type
      returning b.* into v_balance;

      perform credits_private._write_ledger(
        v_balance, 'adjustment', v_delta, at, grant_id => v_grant.grant_id, reason => reason,
        metadata => coalesce(metadata, '{}'::jsonb)
                    || jsonb_build_object('source', 'monthly', 'allowance_before', v_grant.amount,
                                          'allowance_after', v_allowance.amount,
                                          'used_before', v_grant.amount - v_grant.remaining));
    end if;
  end loop;
  select p.withheld_rollovers into v_withheld
  from credits_private.periods p
  where p.account_id = account.account_id and p.period_start = account.period_start;
  if v_withheld is not null
     and not exists (select from credits_private.grants g
                     where g.account_id = account.account_id and g.source = 'rollover'
                       and g.period_start = account.period_start) then
    perform credits_private._add_rollovers(account.account_id, v_withheld -> 'rollovers', account.period_start,
                                           account.period_end, (v_withheld ->> 'ending')::timestamptz, at);
  end if;
end
$$;
