-- The lists of allowed values as domains, one home each (issue 12), and the
-- hot tables' CHECKs made small (issue 13). PostgreSQL reads a table's
-- CHECK expressions from their stored text at every statement that writes
-- the table; a domain's are read once per session (the type cache). An
-- IN list of texts is the longest of those texts, so the lists move into
-- domains and the CHECKs cast to them: the same rules, read once. A value
-- outside a list is refused as before, with SQLSTATE 23514 (check
-- violation), naming the domain.

set local role credits_owner;

create domain credits_private.ledger_kind as text
  check (value in ('grant', 'debit', 'expiry', 'void', 'refund', 'capture', 'adjustment'));
create domain credits_private.grant_source as text
  check (value in ('signup', 'daily', 'monthly', 'purchase', 'promo', 'admin', 'refund', 'migration'));
create domain credits_private.event_kind as text
  check (value in ('balance_changed', 'threshold_crossed', 'depleted', 'recovered', 'feature_gated',
                   'plan_changed'));
create domain credits_private.hold_status as text check (value in ('held', 'captured', 'released', 'expired'));
create domain credits_private.account_status as text check (value in ('active', 'suspended', 'closed'));
create domain credits_private.subscription_status as text
  check (value in ('active', 'trialing', 'past_due', 'canceled'));
-- A key or reference a caller stores: an idempotency key, a payment ref.
create domain credits_private.caller_key as text check (value <> '' and length(value) <= 255);

alter table credits_private.ledger_entries
  drop constraint ledger_entries_are_consistent,
  add constraint ledger_entries_are_consistent check (
    kind::credits_private.ledger_kind is not null and balance_after = balance_before + amount
    and balance_after >= 0 and (idempotency_key is null or idempotency_key::credits_private.caller_key is not null));

alter table credits_private.grants
  drop constraint grants_are_consistent,
  add constraint grants_are_consistent check (
    source::credits_private.grant_source is not null
    and amount > 0 and remaining >= 0 and remaining <= amount and held >= 0 and held <= remaining
    and (expires_at is null or expires_at > starts_at)
    and (payment_ref is null or payment_ref::credits_private.caller_key is not null));

alter table credits_private.events
  drop constraint events_kind_check,
  add constraint events_kind_check check (kind::credits_private.event_kind is not null);

alter table credits_private.holds
  drop constraint holds_are_consistent,
  add constraint holds_are_consistent check (
    status::credits_private.hold_status is not null and amount >= 0
    and (captured is null or (captured >= 0 and captured <= amount))
    and (status <> 'captured' or (captured is not null and capture_entry_id is not null))
    and (idempotency_key is null or idempotency_key::credits_private.caller_key is not null));

alter table credits_private.accounts
  drop constraint accounts_status_check,
  add constraint accounts_status_check check (status::credits_private.account_status is not null);

alter table credits_private.subscriptions
  drop constraint subscriptions_are_consistent,
  add constraint subscriptions_are_consistent check (
    status::credits_private.subscription_status is not null and period_end > period_start
    and (ended_at is null or status = 'canceled'));

alter table credits_private.subscription_events
  drop constraint subscription_events_are_consistent,
  add constraint subscription_events_are_consistent check (
    event_id::credits_private.caller_key is not null
    and status::credits_private.subscription_status is not null and period_end > period_start
    and effect in ('opened_period', 'upgraded', 'scheduled', 'updated', 'ignored'));

reset role;
