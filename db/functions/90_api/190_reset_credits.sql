-- credits.reset_credits(account_id, reason): gives an account its current
-- allowances again in full. Every allowance grant still running (the
-- period's monthly allowance, today's daily one) is voided (a `void` row for
-- what is left of it; a part held by a hold stays for that hold), then the
-- plan's monthly allowance is issued again for the current period and its
-- daily allowance for the account's current local day (a `grant` row each,
-- ending with the period and at the next local midnight). Purchased, promo,
-- signup, admin and refund credits are left alone; per-feature use counts
-- (period limits) are kept. The period's credit counters of every credit
-- type reset start afresh, as in a new period: granted this period is what
-- the reset issues, used this period 0, so the 80, 90 and 100 % thresholds
-- are crossed again. The voided grant hands its place as the period's (or day's)
-- allowance to the new one, so the allowance is still issued once per
-- period and day. A subscriber whose period is over while the provider's
-- renewal has not arrived gets no monthly allowance (there is no period to
-- issue it for). Admin. Returns the balance rows, as get_balance.
-- Errors: PT422 no reason, or a suspended or closed account; PT404 unknown
-- account; 42501.
--
--   select credit_type, available from credits.reset_credits('u_42', 'outage on 2026-03-12, ticket 881');

create or replace function credits.reset_credits(account_id text, reason text)
returns table (credit_type text, available numeric, held numeric, granted_this_period numeric,
               used_this_period numeric, period_start timestamptz, period_end timestamptz,
               next_reset_at timestamptz, plan text, unlimited boolean, buckets jsonb,
               pool_available numeric, pool_cap_remaining numeric)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts;
  v_plan credits_private.plans;
  v_day date;
  v_why text;
  v_types text[];
  v_type text;
  v_grant record;
  v_amount numeric;
begin
  perform credits_private._require_reason(reset_credits.reason,
                                          format('reset the credits of account %s', reset_credits.account_id));
  v_account := credits_private._account_to_act(reset_credits.account_id);
  if v_account.status <> 'active' then
    raise exception 'account % is %: its credits stay as they are', v_account.account_id, v_account.status
      using errcode = 'PT422',
            hint = 'Reactivate it with credits.set_account_status first.';
  end if;
  v_account := credits_private._settle_account(reset_credits.account_id, v_now);
  select p.* into strict v_plan from credits_private.plans p where p.code = v_account.plan;
  v_day := (v_now at time zone v_account.timezone)::date;
  v_why := 'reset_credits: ' || reset_credits.reason;

  -- Lock (and settle) every balance concerned, in credit type order: those
  -- the plan allows and those holding a running allowance grant.
  v_types := array(
    select e.key from jsonb_each(v_plan.monthly_allowance) e
    union
    select e.key from jsonb_each(v_plan.daily_allowance) e
    union
    select g.credit_type
    from credits_private.grants g
    where g.account_id = v_account.account_id
      and g.is_open
      and ((g.source = 'monthly' and g.period_start is not null) or (g.source = 'daily' and g.local_day is not null))
    order by 1);
  foreach v_type in array v_types loop
    perform credits_private._lock_balance(v_account.account_id, v_type, v_now);
  end loop;

  foreach v_type in array v_types loop
    -- Void what is left of the running allowance grants. Each gives up its
    -- period_start or local_day (kept in its metadata) so that the new
    -- grant becomes the period's or the day's allowance: a used-up one too
    -- (nothing left to void, common after an overdraft repaid from it),
    -- else the new grant would collide with it.
    for v_grant in
      select g.grant_id, g.period_start, g.local_day
      from credits_private.grants g
      where g.account_id = v_account.account_id
        and g.credit_type = v_type
        and g.voided_at is null and g.expired_at is null
        and (g.expires_at is null or g.expires_at > v_now)
        and ((g.source = 'monthly' and g.period_start is not null) or (g.source = 'daily' and g.local_day is not null))
      order by g.grant_id
    loop
      update credits_private.grants g
      set voided_at = v_now,
          reason = coalesce(g.reason || '; ', '') || 'voided: ' || v_why,
          period_start = null,
          local_day = null,
          metadata = g.metadata || jsonb_build_object('reset', jsonb_build_object(
                       'period_start', v_grant.period_start, 'local_day', v_grant.local_day, 'at', v_now))
      where g.account_id = v_account.account_id and g.grant_id = v_grant.grant_id;
      perform credits_private._write_off_grant(v_account.account_id, v_type, v_grant.grant_id, 'void', v_why,
                                               v_now);
    end loop;

    -- The period's counters start afresh: granted counts what is issued
    -- below, used starts at 0 (the trigger sees usage fall, so the next
    -- rise through a threshold is a new crossing).
    update credits_private.balances b
    set period_start = v_account.period_start, period_granted = 0, period_used = 0, updated_at = v_now
    where b.account_id = v_account.account_id and b.credit_type = v_type;

    -- Issue the plan's allowances again, in full (no monthly one for a
    -- subscriber whose period is over while its renewal has not arrived).
    v_amount := (v_plan.monthly_allowance ->> v_type)::numeric;
    if v_amount > 0 and v_account.period_end > v_now then
      perform credits_private._add_grant(
        v_account.account_id, v_type, 'monthly', v_amount, v_account.period_end, null, v_now,
        v_account.period_start, reason => v_why, grant_period_start => v_account.period_start);
    end if;
    v_amount := (v_plan.daily_allowance ->> v_type)::numeric;
    if v_amount > 0 then
      perform credits_private._add_grant(
        v_account.account_id, v_type, 'daily', v_amount,
        credits_private._local_day_end(v_account.timezone, v_now), null, v_now, v_account.period_start,
        reason => v_why, local_day => v_day);
    end if;
  end loop;

  return query select * from credits.get_balance(v_account.account_id);
end
$$;

comment on function credits.reset_credits(text, text) is
  'Gives an account its current allowances again in full, its period counters starting afresh, and returns its balance rows; admin, with a reason.';
revoke all on function credits.reset_credits(text, text) from public;
grant execute on function credits.reset_credits(text, text) to credits_admin;
