-- credits.apply_subscription_event(event_id, account_id, plan, status,
-- period_start, period_end): applies a payment provider's subscription
-- webhook to an account and returns the account. Service and admin.
--
-- status: active or trialing (subscribed and paid for the period), past_due
-- (subscribed, payment pending: the plan is kept, no new allowance is issued
-- until an active event for the period arrives), canceled (subscribed until
-- period_end, then on the default plan, plans.is_default, with monthly
-- periods from that moment).
--
-- * Idempotent on event_id: the same event again returns the account and
--   changes nothing; the same event_id with other arguments (or for another
--   account) raises PT409.
-- * Events are ordered by period_start, then by arrival: an event for an
--   earlier period than the newest applied one, or for a period that ended
--   before the account's current one began, is stored and changes nothing.
-- * A new period_start is a renewal: the provider's period opens with
--   exactly its bounds, on the event's plan, with that plan's monthly
--   allowance (ending at period_end) and what the replaced period rolls
--   over (plans.rollover); what is left of the replaced period's monthly
--   allowance ends now. A past_due period withholds both until it is paid.
-- * The same period_start: an upgrade (credits_private._is_upgrade) takes
--   effect at once, the period's allowance becoming the new plan's less what
--   was already used of it; a lower plan or a cancellation is scheduled for
--   the period's end (the account changes then, lazily); the same plan
--   cancels what was scheduled and, when active, issues an allowance the
--   period lacks (a past_due period paid).
-- plan_changed is emitted whenever the account's plan changes. A plan
-- credits.update_account scheduled for the period's end is dropped: the
-- provider's events decide a subscriber's plan.
-- Errors: PT404 unknown account or plan, or no default plan for a
-- cancellation to fall back to; PT422 bad event_id, status or period; PT409
-- event_id reused with other arguments; 42501 other callers.
--
--   select plan, period_start, period_end
--   from credits.apply_subscription_event('evt_1Nx2', 'u_42', 'pro', 'active',
--                                         '2026-03-10 12:00+00', '2026-04-10 12:00+00');

create or replace function credits.apply_subscription_event(event_id text, account_id text, plan text, status text,
                                                            period_start timestamptz, period_end timestamptz)
returns credits.accounts
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_first credits_private.subscription_events;
  v_account credits_private.accounts;
  v_subscription credits_private.subscriptions;
  v_effect text;
  v_why text := format('subscription event %s: plan %s, %s, %s to %s', event_id, plan, status, period_start,
                       period_end);
  v_row credits.accounts;
  v_next credits_private.accounts;
  v_rollovers jsonb;
begin
  perform credits_private._check_key(event_id, 'event_id');
  if not credits_private._is_domain_value(status, 'credits_private.subscription_status') then
    raise exception 'invalid subscription status % in event %', coalesce(credits_private._shown(quote_literal(status)), 'null'), event_id
      using errcode = 'PT422',
            hint = 'Pass active, trialing, past_due or canceled; map the provider''s other statuses to these.';
  end if;
  if period_start is null or period_end is null or not isfinite(period_start) or not isfinite(period_end)
     or period_end <= period_start then
    raise exception 'subscription period % to % of event % is empty or unbounded',
                    coalesce(period_start::text, 'null'), coalesce(period_end::text, 'null'), event_id
      using errcode = 'PT422', hint = 'Pass the provider''s current period: a finite period_start before period_end.';
  end if;
  if plan is null or not exists (select from credits_private.plans p where p.code = apply_subscription_event.plan) then
    raise exception 'unknown plan % in subscription event %', credits_private._shown(plan), event_id
      using errcode = 'PT404', hint = 'Create it with credits.upsert_plan.';
  end if;
  if status = 'canceled' and not exists (select from credits_private.plans p where p.is_default) then
    raise exception 'no default plan for canceled subscription event % to leave account % on', event_id,
                    account_id
      using errcode = 'PT404',
            detail = 'A canceled subscription falls back to the default plan at its period''s end.',
            hint = 'Make a plan the default with credits.upsert_plan(code => ..., is_default => true).';
  end if;
  perform credits_private._account_to_act(account_id);

  -- One event is applied once, whichever account names it: serialize on its id.
  perform pg_advisory_xact_lock(hashtextextended('pgcredits.subscription_event:' || event_id, 0));
  v_first := credits_private._subscription_event(event_id, account_id);
  if v_first.event_id is not null then
    if v_first.account_id <> account_id or v_first.plan <> plan or v_first.status <> status
       or v_first.period_start <> period_start or v_first.period_end <> period_end then
      raise exception 'subscription event % was already applied with other arguments', event_id
        using errcode = 'PT409',
              detail = format('account %s, plan %s, %s, %s to %s',
                              case when v_first.account_id = account_id then v_first.account_id
                                   else '(another account)' end,
                              v_first.plan, v_first.status, v_first.period_start, v_first.period_end),
              hint = 'An event is applied once; a retry must repeat the first call''s arguments.';
    end if;
    select a.* into v_row from credits.accounts a where a.account_id = apply_subscription_event.account_id;
    return v_row;
  end if;

  -- The account row first (then balance rows, then grants), and what the
  -- end of its period has done settled before the event is looked at. The
  -- lock waits for the callers that read the account while it awaited this
  -- renewal (they share the row, see _settle_account), and they wait for
  -- it: none counts a debit in a period replaced meanwhile.
  perform from credits_private.accounts a where a.account_id = apply_subscription_event.account_id
  for no key update;
  v_account := credits_private._settle_account(account_id, v_now);
  select s.* into v_subscription
  from credits_private.subscriptions s
  where s.account_id = apply_subscription_event.account_id;

  if period_start < v_subscription.period_start or period_end <= v_account.period_start then
    -- Older than what the account follows: stored, nothing newer changes.
    v_effect := 'ignored';

  elsif period_start = v_account.period_start then
    -- The account's current period.
    if period_end <> v_account.period_end then
      v_account := credits_private._move_period_end(v_account, period_end, v_now, v_why);
    end if;
    if status in ('active', 'trialing') and credits_private._is_upgrade(v_account.plan, plan) then
      v_account := credits_private._upgrade_plan(
        v_account, plan, v_now, format('upgrade to plan %s (%s)', plan, v_why),
        jsonb_build_object('event_id', event_id), jsonb_build_object('subscription_event', event_id));
      v_effect := 'upgraded';
    elsif plan <> v_account.plan or status = 'canceled' then
      -- A lower plan or a cancellation: at the period's end (credits_private._roll_period).
      v_effect := 'scheduled';
    else
      if status in ('active', 'trialing') then
        perform credits_private._issue_monthly_allowance(
          v_account, v_now, false, format('monthly allowance of plan %s (%s)', plan, v_why));
      end if;
      v_effect := 'updated';
    end if;

  else
    -- A new provider period (a renewal, or the first period of a subscription).
    -- What the ending period rolls over, read before its allowance ends:
    -- the provider's next period follows it (no missed periods between).
    v_next := v_account;
    v_next.period_start := v_account.period_end;
    select coalesce(jsonb_agg(to_jsonb(r) order by r.credit_type), '[]') into v_rollovers
    from credits_private._period_rollovers(v_account, v_next) r;
    if v_account.period_end > v_now then
      perform credits_private._end_monthly_allowance(
        account_id, v_account.period_start, v_now, format('period replaced by the provider''s (%s)', v_why));
    end if;
    if plan <> v_account.plan then
      perform credits_private._emit_event(account_id, 'plan_changed', null,
        jsonb_build_object('from', v_account.plan, 'to', plan, 'cause', 'new_period', 'event_id', event_id,
                           'effective_at', greatest(period_start, v_now)),
        v_now);
    end if;
    update credits_private.accounts a
    set plan = apply_subscription_event.plan, period_start = apply_subscription_event.period_start,
        period_end = apply_subscription_event.period_end, scheduled_plan = null, updated_at = v_now,
        daily_until = case when a.plan = apply_subscription_event.plan then a.daily_until end
    where a.account_id = apply_subscription_event.account_id
    returning a.* into v_account;
    -- A period that issues no allowance yet (past_due) withholds its
    -- rollover with it, as it stands now, until the period is paid
    -- (credits_private._issue_monthly_allowance).
    insert into credits_private.periods as p
      (account_id, period_start, period_end, plan, created_at, withheld_rollovers)
    values
      (account_id, period_start, period_end, plan, v_now,
       case when status not in ('active', 'trialing') and v_rollovers <> '[]' then
         jsonb_build_object('ending', v_next.period_start, 'rollovers', v_rollovers) end)
    on conflict on constraint periods_pkey
    do update set period_end = excluded.period_end, plan = excluded.plan,
                  withheld_rollovers = excluded.withheld_rollovers;
    if status in ('active', 'trialing') then
      perform credits_private._issue_monthly_allowance(
        v_account, v_now, false, format('monthly allowance of plan %s (%s)', plan, v_why));
      if v_account.status = 'active' and v_account.period_end > v_now then
        perform credits_private._add_rollovers(account_id, v_rollovers, v_account.period_start,
                                               v_account.period_end, v_next.period_start, v_now);
      end if;
    end if;
    v_effect := 'opened_period';
  end if;

  insert into credits_private.subscription_events
    (account_id, event_id, plan, status, period_start, period_end, effect, actor, received_at)
  values
    (account_id, event_id, plan, status, period_start, period_end, v_effect, credits_private._actor(), v_now);
  if v_effect <> 'ignored' then
    insert into credits_private.subscriptions as s
      (account_id, event_id, plan, status, period_start, period_end, created_at, updated_at)
    values
      (account_id, event_id, plan, status, period_start, period_end, v_now, v_now)
    on conflict on constraint subscriptions_pkey
    do update set event_id = excluded.event_id, plan = excluded.plan, status = excluded.status,
                  period_start = excluded.period_start, period_end = excluded.period_end, ended_at = null,
                  updated_at = excluded.updated_at;
    -- A subscriber's plan is the provider's: what update_account scheduled goes.
    update credits_private.accounts a
    set scheduled_plan = null
    where a.account_id = apply_subscription_event.account_id and a.scheduled_plan is not null;
    -- What the event makes due at once: a canceled period already over, the
    -- daily allowance of a new plan.
    perform credits_private._settle_account(account_id, v_now);
  end if;

  select a.* into v_row from credits.accounts a where a.account_id = apply_subscription_event.account_id;
  return v_row;
end
$$;

comment on function credits.apply_subscription_event(text, text, text, text, timestamptz, timestamptz) is
  'Applies a payment provider''s subscription event, idempotent on event_id, and returns the account; service and admin.';
revoke all on function credits.apply_subscription_event(text, text, text, text, timestamptz, timestamptz) from public;
grant execute on function credits.apply_subscription_event(text, text, text, text, timestamptz, timestamptz)
  to credits_service;
