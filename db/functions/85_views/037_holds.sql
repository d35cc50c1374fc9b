-- credits.holds: reservations made by reserve_credits, with their status
-- (held, captured, released, expired), what they hold and when they lapse.
-- status held with expires_at in the past is a lapsed hold not yet settled:
-- it holds nothing. A pool's share of a member's hold names the member
-- (member_id); the member's hold names the pool and the share (pool_id,
-- pool_hold_id).

create or replace view credits.holds with (security_barrier) as
  select hold_id, account_id, credit_type, feature, units, amount, status, expires_at, earmarks, captured,
         capture_entry_id as capture_transaction_id, idempotency_key, actor, created_at, ended_at, member_id,
         pool_id, pool_hold_id
  from credits_private.holds;

comment on view credits.holds is
  'Holds made by reserve_credits: amount, status (held, captured, released, expired), expires_at, the grants earmarked and the capture''s transaction.';
revoke all on credits.holds from public;
grant select on credits.holds to credits_service, credits_admin, credits_user, credits_auditor;
