-- Rollover withheld with a past_due period's allowance (issue 15;
-- docs/decisions.md, "Rollover"): what the renewal into a provider period
-- that issues no allowance would have rolled over is kept on the period's
-- row, fixed at the renewal, and issued with the allowance when the period
-- is paid (credits_private._issue_monthly_allowance).

set local role credits_owner;

alter table credits_private.periods add column withheld_rollovers jsonb
  check (jsonb_typeof(withheld_rollovers) = 'object');
comment on column credits_private.periods.withheld_rollovers is
  'What the renewal into this period would have rolled over, withheld with its allowance (a past_due provider period): {"ending": <end of the period before>, "rollovers": [{"credit_type", "amount", "unused", "plan"}]}; issued when the period is paid.';

reset role;
