-- Undoes 0010: the CHECKs of 0002, 0003 and 0005 with their lists written out.
set local role credits_owner;

alter table credits_private.ledger_entries
  drop constraint ledger_entries_are_consistent,
  add constraint ledger_entries_are_consistent check (
    kind in ('grant', 'debit', 'expiry', 'void', 'refund', 'capture', 'adjustment')
    and balance_after = balance_before + amount and balance_after >= 0
    and (idempotency_key is null or (idempotency_key <> '' and length(idempotency_key) <= 255)));
alter table credits_private.grants
  drop constraint grants_are_consistent,
  add constraint grants_are_consistent check (
    source in ('signup', 'daily', 'monthly', 'purchase', 'promo', 'admin', 'refund', 'migration')
    and amount > 0 and remaining >= 0 and remaining <= amount and held >= 0 and held <= remaining
    and (expires_at is null or expires_at > starts_at) and (payment_ref is null or payment_ref <> ''));
alter table credits_private.events
  drop constraint events_kind_check,
  add constraint events_kind_check check (kind in ('balance_changed', 'threshold_crossed', 'depleted',
    'recovered', 'feature_gated', 'plan_changed'));
alter table credits_private.holds
  drop constraint holds_are_consistent,
  add constraint holds_are_consistent check (
    status in ('held', 'captured', 'released', 'expired') and amount >= 0
    and (captured is null or (captured >= 0 and captured <= amount))
    and (status <> 'captured' or (captured is not null and capture_entry_id is not null))
    and (idempotency_key is null or (idempotency_key <> '' and length(idempotency_key) <= 255)));
alter table credits_private.accounts
  drop constraint accounts_status_check,
  add constraint accounts_status_check check (status in ('active', 'suspended', 'closed'));
alter table credits_private.subscriptions
  drop constraint subscriptions_are_consistent,
  add constraint subscriptions_are_consistent check (
    status in ('active', 'trialing', 'past_due', 'canceled') and period_end > period_start
    and (ended_at is null or status = 'canceled'));
alter table credits_private.subscription_events
  drop constraint subscription_events_are_consistent,
  add constraint subscription_events_are_consistent check (
    event_id <> '' and length(event_id) <= 255
    and status in ('active', 'trialing', 'past_due', 'canceled') and period_end > period_start
    and effect in ('opened_period', 'upgraded', 'scheduled', 'updated', 'ignored'));

drop domain credits_private.ledger_kind, credits_private.grant_source, credits_private.event_kind,
  credits_private.hold_status, credits_private.account_status, credits_private.subscription_status,
  credits_private.caller_key;
reset role;
