-- Rollover (issue 15; docs/decisions.md, "Rollover"): plans.rollover says,
-- per credit type, what of the unused monthly allowance carries over at a
-- renewal ({"credits": {"max": 100, "fraction": 0.5}}), as a grant of source
-- `rollover` that ends with the next period. upsert_plan gains the
-- parameter rollover: its old signature goes, the function file creates
-- the new one.

set local role credits_owner;

do $$
begin
  alter domain credits_private.grant_source drop constraint grant_source_check;
  alter domain credits_private.grant_source add constraint grant_source_check
    check (value in ('signup', 'daily', 'monthly', 'purchase', 'promo', 'admin', 'refund', 'migration',
                     'rollover'));
end
$$;

alter table credits_private.plans add column rollover jsonb not null default '{}';
comment on column credits_private.plans.rollover is
  'Per credit type, what of the unused monthly allowance carries over at a renewal: {"credits": {"max": 100, "fraction": 0.5}} (max: no cap when absent; fraction: 1 when absent).';

-- A renewal rolls over once: one rollover grant per period and credit type.
create unique index grants_one_rollover_per_period on credits_private.grants
  (account_id, credit_type, period_start) where source = 'rollover';

drop function if exists credits.upsert_plan(text, jsonb, jsonb, jsonb, boolean, text, boolean);

reset role;
