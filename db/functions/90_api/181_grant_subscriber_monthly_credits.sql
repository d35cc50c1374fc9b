-- credits.grant_subscriber_monthly_credits(account_id): the monthly
-- allowance of the account's plan for its current period, once per period
-- (the unique index grants_one_monthly_per_period): every credit type of the
-- allowance the period lacks is issued, ending with the period; a second
-- call issues nothing and returns the same grant. Returns the grant of
-- credit type `credits` (else the first credit type by code). Opening a
-- period issues its allowance already: this is for a period whose
-- allowance was held back (a past_due renewal the app decides to honour).
-- Service and admin.
-- Errors: PT404 unknown account; PT422 when the period has no allowance and
-- none can be issued (plan without one, suspended or closed account, or a
-- subscriber's period over while the provider's renewal has not arrived); 42501.
--
--   select grant_id from credits.grant_subscriber_monthly_credits('u_42');

create or replace function credits.grant_subscriber_monthly_credits(account_id text)
returns table (grant_id bigint)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts := credits_private._account_to_act(account_id);
begin
  -- Lock order: the account row, then (in the helper) balance rows and grants.
  perform from credits_private.accounts a where a.account_id = grant_subscriber_monthly_credits.account_id
  for no key update;
  v_account := credits_private._settle_account(account_id, v_now);
  perform credits_private._issue_monthly_allowance(v_account, v_now, false,
                                                   format('monthly allowance of plan %s', v_account.plan));

  select g.grant_id into grant_subscriber_monthly_credits.grant_id
  from credits_private.grants g
  where g.account_id = v_account.account_id
    and g.source = 'monthly'
    and g.period_start = v_account.period_start
  order by g.credit_type <> 'credits', g.credit_type, g.grant_id
  limit 1;
  if not found then
    raise exception 'account % has no monthly allowance for its period % to %', v_account.account_id,
                    v_account.period_start, v_account.period_end
      using errcode = 'PT422',
            detail = case when v_account.status <> 'active' then format('the account is %s', v_account.status)
                          when v_account.period_end <= v_now then 'the period is over; the provider''s renewal has not arrived'
                          else format('plan %s has no monthly allowance', v_account.plan) end,
            hint = 'Reactivate the account, apply the renewal event, or give the plan a monthly_allowance.';
  end if;
  return next;
end
$$;

comment on function credits.grant_subscriber_monthly_credits(text) is
  'Issues the plan''s monthly allowance for the account''s current period, once per period, and returns its grant_id; service and admin.';
revoke all on function credits.grant_subscriber_monthly_credits(text) from public;
grant execute on function credits.grant_subscriber_monthly_credits(text) to credits_service;
