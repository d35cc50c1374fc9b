-- Holds: a reservation of credits for work that may fail (SPEC §1 hold).
-- A hold earmarks the grants it draws from (grants.held, balances.held);
-- capturing charges them, even if they have ended meanwhile; releasing or
-- lapsing gives them back. A hold changes no balance, so it writes no ledger
-- row until it is captured.

set local role credits_owner;

create table credits_private.holds (
  account_id       text not null references credits_private.accounts,
  hold_id          bigint generated always as identity,
  credit_type      text not null references credits_private.credit_types,
  feature          text not null references credits_private.features,
  units            jsonb not null default '{}',
  amount           numeric(30,6) not null,
  status           text not null default 'held',
  expires_at       timestamptz not null,
  -- The grants earmarked, in draw order: [{"grant_id": 7, "amount": 1.5}, ...].
  earmarks         jsonb not null default '[]',
  -- The period whose per-period feature count this hold used, if the
  -- feature has a limit (given back when the hold is released or lapses).
  counted_period   timestamptz,
  idempotency_key  text,
  request_hash     uuid,
  capture_entry_id bigint,
  captured         numeric(30,6),
  actor            text not null,
  created_at       timestamptz not null,
  ended_at         timestamptz,
  primary key (account_id, hold_id),
  foreign key (account_id, capture_entry_id) references credits_private.ledger_entries,
  constraint holds_are_consistent check (
    status in ('held', 'captured', 'released', 'expired') and amount >= 0
    and (captured is null or (captured >= 0 and captured <= amount))
    and (status <> 'captured' or (captured is not null and capture_entry_id is not null))
    and (idempotency_key is null or (idempotency_key <> '' and length(idempotency_key) <= 255)))
);

create index holds_by_id on credits_private.holds (hold_id);
create unique index holds_idempotency_key on credits_private.holds (account_id, idempotency_key)
  where idempotency_key is not null;
create index holds_open on credits_private.holds (account_id, credit_type, expires_at) where status = 'held';

select credits_private._protect_account_table('holds', changeable => true);

reset role;
