-- credits.subscriptions: one row per account, its plan now and what its
-- plan will be at the end of the current period. status is the payment
-- provider's (active, trialing, past_due, canceled) while a subscription
-- runs, null for an account that never subscribed or whose subscription
-- has ended. scheduled_plan is the plan the account moves to at period_end,
-- null when it stays: the provider's lower plan, the default plan for a
-- canceled subscription, or the plan credits.update_account scheduled.
-- last_event_id is the newest provider event applied; ended_at when the
-- subscription ended (a cancellation's period_end, settled).
-- This is the stored state: once period_end has passed the account is on
-- scheduled_plan from its next call on (get_balance reports it already),
-- as credits_private._as_settled says, whose rule the CASE below mirrors.
-- A credits_user sees only its own row (row-level security of the tables).
-- Built-ins are qualified (STYLE 18).

create or replace view credits.subscriptions with (security_barrier) as
  select a.account_id,
         a.plan,
         case when s.ended_at is null then s.status end as status,
         case when s.account_id is null or s.ended_at is not null then a.scheduled_plan
              when s.status OPERATOR(pg_catalog.=) 'canceled'
                then nullif((select p.code from credits_private.plans p where p.is_default), a.plan)
              when s.plan OPERATOR(pg_catalog.<>) a.plan then s.plan
         end as scheduled_plan,
         a.period_start,
         a.period_end,
         s.event_id as last_event_id,
         s.ended_at,
         a.updated_at
  from credits_private.accounts a
  left join credits_private.subscriptions s on s.account_id OPERATOR(pg_catalog.=) a.account_id;

comment on view credits.subscriptions is
  'Per account: the plan, the provider''s subscription status, the plan scheduled for period_end, the current period and the last subscription event applied.';
revoke all on credits.subscriptions from public;
grant select on credits.subscriptions to credits_service, credits_admin, credits_user, credits_auditor;
