-- Daily grants (SPEC §2 grant_daily_credits; docs/decisions.md "Daily
-- grants and pg_cron").
--
-- accounts.daily_until: the account's daily grants are settled up to this
-- instant, the local midnight ending the last local day its mutating calls
-- settled (null: never). Mutating calls compare it with the clock, a field
-- of the account row they read anyway, so a debit pays nothing more until
-- the account's next local midnight; the first call after it issues the
-- day's missed daily grants. The one-grant-per-day rule itself is the
-- unique index grants_one_daily_per_day of 0002.
--
-- credits_private._draw_plan gains the pending daily grant (check_feature
-- previews it): the old signature goes, the function file creates the new.

set local role credits_owner;

alter table credits_private.accounts add column daily_until timestamptz;
comment on column credits_private.accounts.daily_until is
  'Daily grants are settled up to this instant (a local midnight); null: not yet. See docs/decisions.md.';

drop function if exists credits_private._draw_plan(text, text, numeric, timestamptz, numeric, timestamptz);

reset role;
