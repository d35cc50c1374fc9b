-- Drops the tables of 0005. Periods then settle as for accounts that never
-- subscribed (credits_private._as_settled looks for the table first);
-- apply_subscription_event and grant_subscriber_monthly_credits stay until
-- the function files are applied again, and fail until 0005 is.
set local role credits_owner;
drop table if exists
  credits_private.subscriptions,
  credits_private.subscription_events
  cascade;
reset role;
