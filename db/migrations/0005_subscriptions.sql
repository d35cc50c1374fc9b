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

-- Row-level security: the owner policies of every per-account table.
-- Events are never changed.
select credits_private._protect_account_table('subscription_events', changeable => false);
select credits_private._protect_account_table('subscriptions', changeable => true);

reset role;
