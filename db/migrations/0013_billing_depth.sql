-- Billing depth (issue 15; docs/decisions.md, "Billing depth"):
--
-- * Future-dated grants: grants.not_before is the start of a grant that has
--   not begun yet (null for every grant in force). Until it starts, its
--   whole remainder is in grants.held and balances.held: not available to
--   debits, still part of the balance and of the ledger (its `grant` row is
--   written when it is granted), so the hot path's check (balance - held)
--   and credits.reconciliation need no change. Settling past not_before
--   (credits_private._settle, balances.settle_at) releases it.
-- * Changed expiry: set_grant_expiry writes an `expiry_changed` ledger row
--   (amount 0, the old and new ends in its metadata).
-- * Cost basis: a purchase's price and currency (credits.revenue and
--   credits.breakage read them).
-- * Auto top-up: its settings per balance, the requests it made, the
--   `top_up_requested` event, and balances.top_up_below, the threshold a
--   debit compares with (null: no auto top-up, the one check a debit pays).
--
-- grant_credits gains starts_at and purchase_credits price and currency:
-- their old signatures go, the function files create the new ones.

set local role credits_owner;

-- The domains' lists, in one statement: yoyo's savepoint between a DROP
-- CONSTRAINT and an ADD CONSTRAINT of a domain makes the ADD fail
-- ("cannot start a subtransaction when there are unprocessed inval
-- messages", PostgreSQL 15).
do $$
begin
  alter domain credits_private.ledger_kind drop constraint ledger_kind_check;
  alter domain credits_private.ledger_kind add constraint ledger_kind_check
    check (value in ('grant', 'debit', 'expiry', 'void', 'refund', 'capture', 'adjustment', 'expiry_changed'));
  -- 0012 (team pools) named its list event_kinds.
  alter domain credits_private.event_kind drop constraint event_kinds;
  alter domain credits_private.event_kind add constraint event_kind_check
    check (value in ('balance_changed', 'threshold_crossed', 'depleted', 'recovered', 'feature_gated',
                     'plan_changed', 'member_cap_reached', 'top_up_requested'));
end
$$;

alter table credits_private.grants
  add column not_before timestamptz,
  add column price numeric,
  add column currency text;
comment on column credits_private.grants.not_before is
  'The start of a future-dated grant until it is settled: its remainder is held (grants.held, balances.held) until then; null once in force.';
comment on column credits_private.grants.price is
  'What the purchase cost, in currency (purchase_credits(price, currency)); null: unknown.';

alter table credits_private.balances add column top_up_below numeric(30,6);
comment on column credits_private.balances.top_up_below is
  'The auto top-up threshold of this balance (credits.set_auto_top_up); null: no auto top-up.';

create domain credits_private.top_up_status as text check (value in ('open', 'fulfilled', 'failed'));

-- One row per balance with an auto top-up: when the balance falls below
-- threshold, request `credits` for `price`; not again while a request is
-- open, before next_request_at (the cooldown, doubled by every decline:
-- backoff) or past monthly_limit credits requested in the account's period.
create table credits_private.auto_top_ups (
  account_id      text not null references credits_private.accounts,
  credit_type     text not null references credits_private.credit_types,
  threshold       numeric(30,6) not null check (threshold >= 0),
  credits         numeric(30,6) not null check (credits > 0),
  price           numeric check (price >= 0),
  currency        text,
  cooldown        interval not null check (cooldown >= interval '0'),
  backoff         interval not null,
  monthly_limit   numeric(30,6) check (monthly_limit > 0),
  next_request_at timestamptz,
  updated_at      timestamptz not null,
  primary key (account_id, credit_type)
);

create table credits_private.top_up_requests (
  account_id  text not null references credits_private.accounts,
  request_id  text not null,
  credit_type text not null references credits_private.credit_types,
  credits     numeric(30,6) not null check (credits > 0),
  price       numeric,
  currency    text,
  status      text not null default 'open' check (status::credits_private.top_up_status is not null),
  -- The debit whose balance fell below the threshold.
  entry_id    bigint,
  grant_id    bigint,
  reason      text,
  created_at  timestamptz not null,
  ended_at    timestamptz,
  primary key (account_id, request_id),
  foreign key (account_id, grant_id) references credits_private.grants
);
-- Request ids come from one sequence: unique without a (scale-out breaking) unique index.
create index top_up_requests_by_id on credits_private.top_up_requests (request_id);
-- Never two open requests for one balance.
create unique index top_up_requests_one_open on credits_private.top_up_requests (account_id, credit_type)
  where status = 'open';
create sequence credits_private.top_up_request_ids;

select credits_private._protect_account_table('auto_top_ups', changeable => true);
select credits_private._protect_account_table('top_up_requests', changeable => true);

drop function if exists credits.grant_credits(text, numeric, text, text, timestamptz, integer, text, text);
drop function if exists credits.purchase_credits(text, numeric, text, text, timestamptz);

reset role;
