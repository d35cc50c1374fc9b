-- credits_private._opened_by_provider(account_id, period_start, at): was
-- the period of an account starting `period_start` opened at `at` by a
-- payment provider's event (a renewal, or a subscription's first period)
-- rather than by settling the account? Until such an event arrives the
-- account awaits it and reads report no allowance pending
-- (credits_private._as_settled); credits.balance_at keeps to that for the
-- past.

create or replace function credits_private._opened_by_provider(account_id text, period_start timestamptz,
                                                               at timestamptz)
returns boolean
language plpgsql
stable
as $$
begin
  return exists (select
                 from credits_private.subscription_events e
                 where e.account_id = _opened_by_provider.account_id
                   and e.effect = 'opened_period'
                   and e.period_start = _opened_by_provider.period_start
                   and e.received_at = _opened_by_provider.at);
end
$$;
