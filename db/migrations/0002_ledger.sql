-- The ledger's tables: the catalog (global, small), accounts and their
-- periods, balances, grants, the append-only ledger and the event outbox.
--
-- Scale-out rule (SPEC §4): every per-account table has account_id in its
-- primary key and in every unique constraint, and every foreign key between
-- per-account tables includes account_id. Amounts are exact numeric with at
-- most 6 decimal places; the functions refuse anything else before it gets here.

set local role credits_owner;

-- Catalog -------------------------------------------------------------------

create table credits_private.credit_types (
  code        text primary key check (code ~ '^[a-z][a-z0-9_]{0,62}$'),
  description text,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

-- `credits` is the default credit type (SPEC §1): it exists from the start.
insert into credits_private.credit_types (code, description) values ('credits', 'The default credit type');

create table credits_private.features (
  code        text primary key check (code ~ '^[a-z][a-z0-9_.:-]{0,62}$'),
  credit_type text not null references credits_private.credit_types,
  base_cost   numeric(30,6) not null check (base_cost >= 0 and scale(base_cost) <= 6),
  unit_rates  jsonb not null default '{}' check (jsonb_typeof(unit_rates) = 'object'),
  description text,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table credits_private.plans (
  code              text primary key check (code ~ '^[a-z][a-z0-9_.:-]{0,62}$'),
  signup_grant      jsonb not null default '{}' check (jsonb_typeof(signup_grant) = 'object'),
  monthly_allowance jsonb not null default '{}' check (jsonb_typeof(monthly_allowance) = 'object'),
  daily_allowance   jsonb not null default '{}' check (jsonb_typeof(daily_allowance) = 'object'),
  unlimited         boolean not null default false,
  description       text,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now()
);

create table credits_private.plan_features (
  plan          text not null references credits_private.plans on delete cascade,
  feature       text not null references credits_private.features on delete cascade,
  enabled       boolean not null default true,
  period_limit  integer check (period_limit >= 0),
  cost_override numeric(30,6) check (cost_override >= 0 and scale(cost_override) <= 6),
  updated_at    timestamptz not null default now(),
  primary key (plan, feature)
);

-- Accounts and periods --------------------------------------------------------

create table credits_private.accounts (
  account_id     text primary key check (account_id <> '' and length(account_id) <= 200),
  plan           text not null references credits_private.plans,
  status         text not null default 'active' check (status in ('active', 'suspended', 'closed')),
  status_reason  text,
  is_demo        boolean not null default false,
  timezone       text not null default 'UTC',
  billing_anchor timestamptz not null,
  -- The current period, mirrored from credits_private.periods for the hot path.
  period_start   timestamptz not null,
  period_end     timestamptz not null check (period_end > period_start),
  metadata       jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  created_at     timestamptz not null,
  updated_at     timestamptz not null
);

create table credits_private.periods (
  account_id   text not null references credits_private.accounts,
  period_id    bigint generated always as identity,
  period_start timestamptz not null,
  period_end   timestamptz not null check (period_end > period_start),
  plan         text not null references credits_private.plans,
  created_at   timestamptz not null,
  primary key (account_id, period_start),
  unique (account_id, period_id)
);

-- How many times a feature with a period limit was used in a period.
create table credits_private.period_usage (
  account_id   text not null,
  period_start timestamptz not null,
  feature      text not null references credits_private.features,
  used_count   integer not null default 0 check (used_count >= 0),
  primary key (account_id, period_start, feature),
  foreign key (account_id, period_start) references credits_private.periods
);

-- Balances --------------------------------------------------------------------

-- One row per account and credit type: the lock that serializes every change
-- to that balance, and its materialized value. balance always equals the sum
-- of the ledger and the sum of grant remainders (see credits.reconciliation).
create table credits_private.balances (
  account_id     text not null references credits_private.accounts,
  credit_type    text not null references credits_private.credit_types,
  balance        numeric(30,6) not null default 0,
  held           numeric(30,6) not null default 0,
  -- The earliest moment something must be settled (a grant ends, a hold
  -- lapses); null when nothing will. Debits take a slower path past it.
  settle_at      timestamptz,
  -- The period the two counters below belong to; reset lazily.
  period_start   timestamptz,
  period_granted numeric(30,6) not null default 0,
  period_used    numeric(30,6) not null default 0,
  updated_at     timestamptz not null,
  primary key (account_id, credit_type),
  -- One CHECK per hot table: PostgreSQL re-reads every CHECK expression on
  -- each statement that writes the table, so fewer is faster.
  constraint balances_are_consistent check (
    balance >= 0 and held >= 0 and held <= balance and period_granted >= 0 and period_used >= 0)
) with (fillfactor = 70);

-- Grants ------------------------------------------------------------------------

create table credits_private.grants (
  account_id  text not null references credits_private.accounts,
  grant_id    bigint generated always as identity,
  credit_type text not null references credits_private.credit_types,
  source      text not null,
  amount      numeric(30,6) not null,
  remaining   numeric(30,6) not null,
  -- Earmarked by holds: not available to debits, still part of remaining.
  held        numeric(30,6) not null default 0,
  priority    integer not null,
  starts_at   timestamptz not null,
  expires_at  timestamptz,
  expired_at  timestamptz,
  voided_at   timestamptz,
  -- Open grants are the ones a debit or a settlement may still touch.
  is_open     boolean generated always as
                (remaining > 0 and expired_at is null and voided_at is null) stored,
  -- Which period a monthly allowance belongs to, which local day a daily one.
  period_start timestamptz,
  local_day   date,
  payment_ref text,
  reason      text,
  metadata    jsonb not null default '{}',
  created_at  timestamptz not null,
  primary key (account_id, grant_id),
  constraint grants_are_consistent check (
    source in ('signup', 'daily', 'monthly', 'purchase', 'promo', 'admin', 'refund', 'migration')
    and amount > 0 and remaining >= 0 and remaining <= amount and held >= 0 and held <= remaining
    and (expires_at is null or expires_at > starts_at) and (payment_ref is null or payment_ref <> ''))
) with (fillfactor = 80);

create index grants_open_by_account on credits_private.grants (account_id, credit_type) where is_open;
create index grants_by_id on credits_private.grants (grant_id);
create unique index grants_payment_ref_per_account on credits_private.grants (account_id, payment_ref)
  where payment_ref is not null;
create unique index grants_one_monthly_per_period on credits_private.grants
  (account_id, credit_type, period_start) where source = 'monthly';
create unique index grants_one_daily_per_day on credits_private.grants
  (account_id, credit_type, local_day) where source = 'daily';
create index grants_by_payment_ref on credits_private.grants (payment_ref) where payment_ref is not null;

-- The ledger --------------------------------------------------------------------

-- One immutable row per change of a balance. balance_before/after chain per
-- account and credit type. It has no foreign key to accounts or grants on
-- purpose: a key-share lock per debit on the account row would serialize a
-- hot account on MultiXacts; the functions are the only writers and every
-- grant a row names is in draws or grant_id (see docs/decisions.md).
create table credits_private.ledger_entries (
  account_id      text not null,
  entry_id        bigint generated always as identity,
  credit_type     text not null,
  kind            text not null,
  amount          numeric(30,6) not null,
  balance_before  numeric(30,6) not null,
  balance_after   numeric(30,6) not null,
  available_after numeric(30,6) not null,
  feature         text,
  units           jsonb,
  grant_id        bigint,
  refund_of       bigint,
  -- Which grants paid (debit, capture) or were credited back (refund), in order.
  draws           jsonb,
  idempotency_key text,
  request_hash    uuid,
  actor           text not null,
  reason          text,
  metadata        jsonb not null default '{}',
  created_at      timestamptz not null,
  primary key (account_id, entry_id),
  foreign key (account_id, refund_of) references credits_private.ledger_entries,
  constraint ledger_entries_are_consistent check (
    kind in ('grant', 'debit', 'expiry', 'void', 'refund', 'capture', 'adjustment')
    and balance_after = balance_before + amount and balance_after >= 0
    and (idempotency_key is null or (idempotency_key <> '' and length(idempotency_key) <= 255)))
);

create unique index ledger_idempotency_key on credits_private.ledger_entries (account_id, idempotency_key)
  where idempotency_key is not null;
create index ledger_by_id on credits_private.ledger_entries (entry_id);
create index ledger_refunds on credits_private.ledger_entries (account_id, refund_of)
  where refund_of is not null;
create index ledger_created_at on credits_private.ledger_entries using brin (created_at);

create function credits_private.tg_ledger_entries__reject_change()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception 'the ledger is append-only: % is not allowed on credits ledger rows', tg_op
    using errcode = '42501',
          hint = 'Correct a ledger row with refund_transaction, void_grant or a new grant.';
end
$$;

create trigger ledger_entries_are_immutable
  before update or delete on credits_private.ledger_entries
  for each row execute function credits_private.tg_ledger_entries__reject_change();
create trigger ledger_entries_are_not_truncated
  before truncate on credits_private.ledger_entries
  for each statement execute function credits_private.tg_ledger_entries__reject_change();

-- Events (outbox) ------------------------------------------------------------------

create table credits_private.events (
  account_id  text not null,
  event_id    bigint generated always as identity,
  kind        text not null check (kind in ('balance_changed', 'threshold_crossed', 'depleted',
                'recovered', 'feature_gated', 'plan_changed')),
  credit_type text,
  payload     jsonb not null default '{}',
  created_at  timestamptz not null,
  primary key (account_id, event_id)
);
create index events_by_id on credits_private.events (event_id);

-- Row-level security ---------------------------------------------------------------
-- Enabled and forced on every table. Callers never touch these tables: the
-- functions (SECURITY DEFINER) and the views run as credits_owner, and the
-- owner's policies narrow every statement to the accounts the *caller* may
-- see or change, so a bug in a function cannot show or touch another
-- user's rows. The identity helpers are wrapped in (select ...) so they run
-- once per statement.

do $$
declare
  t text;
begin
  foreach t in array array['credit_types', 'features', 'plans', 'plan_features'] loop
    execute format('alter table credits_private.%I enable row level security', t);
    execute format('alter table credits_private.%I force row level security', t);
    execute format($p$create policy "everyone reads the catalog" on credits_private.%I
      for select to credits_owner using (true)$p$, t);
    execute format($p$create policy "only admins change the catalog" on credits_private.%I
      for all to credits_owner
      using ((select credits_private._caller_role()) = 'credits_admin')
      with check ((select credits_private._caller_role()) = 'credits_admin')$p$, t);
  end loop;

  foreach t in array array['accounts', 'periods', 'period_usage', 'balances', 'grants',
                           'ledger_entries', 'events'] loop
    perform credits_private._protect_account_table(t, changeable => t not in ('ledger_entries', 'events'));
  end loop;
end
$$;

reset role;
