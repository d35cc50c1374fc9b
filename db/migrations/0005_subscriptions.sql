-- Subscriptions (SPEC §1 period, §2 apply_subscription_event and
-- grant_subscriber_monthly_credits): the payment provider's webhook events,
-- as they arrived, and per account the subscription they add up to.
--
-- subscription_events keeps every event once (idempotency on event_id) with
-- what applying it did; subscriptions holds the newest applied event's plan,
-- status and period: the plan and period the account follows, and what is
-- scheduled for the period's end (a lower plan, or the end of a canceled
-- subscription). See docs/decisions.md, "Subscriptions".

set local role credits_owner;

create table credits_private.subscription_events (
  account_id   text not null references credits_private.accounts,
  event_id     text not null,
  -- Arrival order: of two events for the same provider period, the later wins.
  seq          bigint generated always as identity,
  plan         text not null references credits_private.plans,
  status       text not null,
  period_start timestamptz not null,
  period_end   timestamptz not null,
  -- What applying it did: opened_period (a renewal, or the first period of
  -- a subscription), upgraded (at once), scheduled (a lower plan or a
  -- cancellation, at the period's end), updated (same plan: status, period
  -- end, the allowance of a period paid late), ignored (older than the
  -- newest event applied).
  effect       text not null,
  actor        text not null,
  received_at  timestamptz not null,
  primary key (account_id, event_id),
  constraint subscription_events_are_consistent check (
    event_id <> '' and length(event_id) <= 255
    and status in ('active', 'trialing', 'past_due', 'canceled')
    and period_end > period_start
    and effect in ('opened_period', 'upgraded', 'scheduled', 'updated', 'ignored'))
);

-- An event id is applied once whichever account names it (a lookup under an
-- advisory lock, as for payment_ref: unique indexes must include account_id).
create index subscription_events_by_event_id on credits_private.subscription_events (event_id);

create table credits_private.subscriptions (
  account_id   text not null references credits_private.accounts,
  -- The newest event applied, and its plan, status and period.
  event_id     text not null,
  plan         text not null references credits_private.plans,
  status       text not null,
  period_start timestamptz not null,
  period_end   timestamptz not null,
  -- When a canceled subscription ended (its last period's end): the account
  -- went back to plan free and to monthly periods from that moment.
  ended_at     timestamptz,
  created_at   timestamptz not null,
  updated_at   timestamptz not null,
  primary key (account_id),
  foreign key (account_id, event_id) references credits_private.subscription_events,
  constraint subscriptions_are_consistent check (
    status in ('active', 'trialing', 'past_due', 'canceled')
    and period_end > period_start
    and (ended_at is null or status = 'canceled'))
);

-- Row-level security: the owner policies of 0002. Events are never changed.
do $$
declare
  t text;
begin
  foreach t in array array['subscription_events', 'subscriptions'] loop
    execute format('alter table credits_private.%I enable row level security', t);
    execute format('alter table credits_private.%I force row level security', t);
    execute format($p$create policy "callers see their own account, trusted roles every account"
      on credits_private.%I for select to credits_owner
      using ((select credits_private._caller_sees_all())
             or account_id = (select credits_private._caller_own_account()))$p$, t);
    execute format($p$create policy "callers add rows to their own account, trusted roles to any"
      on credits_private.%I for insert to credits_owner
      with check ((select credits_private._caller_writes_all())
                  or account_id = (select credits_private._caller_own_account()))$p$, t);
    if t <> 'subscription_events' then
      execute format($p$create policy "callers change their own account, trusted roles any"
        on credits_private.%I for update to credits_owner
        using ((select credits_private._caller_writes_all())
               or account_id = (select credits_private._caller_own_account()))
        with check ((select credits_private._caller_writes_all())
                    or account_id = (select credits_private._caller_own_account()))$p$, t);
    end if;
  end loop;
end
$$;

reset role;
