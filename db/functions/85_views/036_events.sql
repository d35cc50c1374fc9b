-- credits.events and credits.gate_events: the outbox of balance events, and
-- the refusals among them (deduct_credits and reserve_credits saying no).

create or replace view credits.events with (security_barrier) as
  select event_id, account_id, kind, credit_type, payload, created_at
  from credits_private.events;

create or replace view credits.gate_events with (security_barrier) as
  select event_id, account_id, credit_type, payload ->> 'feature' as feature, payload ->> 'reason' as reason,
         (payload ->> 'cost')::numeric as cost, (payload ->> 'available')::numeric as available, created_at
  from credits_private.events
  where kind = 'feature_gated';

comment on view credits.events is
  'The event outbox (balance_changed, threshold_crossed, depleted, recovered, feature_gated, plan_changed), each also announced by NOTIFY credits_events with account_id, kind and seq.';
comment on view credits.gate_events is 'Refused debits and holds: the feature, the reason, the cost and what was available.';
revoke all on credits.events, credits.gate_events from public;
grant select on credits.events, credits.gate_events to credits_service, credits_admin, credits_user, credits_auditor;
