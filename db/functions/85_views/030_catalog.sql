-- Catalog views: credit types, features, plans and what each plan includes.
-- Read by every role; changed only through the upsert functions (admin).
-- Like every credits view they run with the owner's rights over the private
-- tables, and row-level security narrows them to what the caller may see.

create or replace view credits.credit_types with (security_barrier) as
  select code, description, created_at, updated_at
  from credits_private.credit_types;

create or replace view credits.features with (security_barrier) as
  select code, credit_type, base_cost, unit_rates, description, created_at, updated_at
  from credits_private.features;

create or replace view credits.plans with (security_barrier) as
  select code, signup_grant, monthly_allowance, daily_allowance, unlimited, description, created_at, updated_at,
         is_default, rollover, overdraft
  from credits_private.plans;

create or replace view credits.plan_features with (security_barrier) as
  select plan, feature, enabled, period_limit, cost_override, updated_at
  from credits_private.plan_features;

comment on view credits.credit_types is 'Currencies of credits: balances are per account and credit type.';
comment on view credits.features is 'What costs credits: base_cost + sum(unit_rates[u] * units[u]), rounded up to 6 decimals.';
comment on view credits.plans is
  'Plans: signup grant, monthly and daily allowances per credit type, unlimited, whether it is the default plan (where a canceled subscription ends), what of the monthly allowance rolls over at a renewal, and how far below zero a debit may take a balance (overdraft).';
comment on view credits.plan_features is 'Features a plan includes, with per-period count limits and cost overrides.';

revoke all on credits.credit_types, credits.features, credits.plans, credits.plan_features from public;
grant select on credits.credit_types, credits.features, credits.plans, credits.plan_features
  to credits_service, credits_admin, credits_user, credits_auditor;
