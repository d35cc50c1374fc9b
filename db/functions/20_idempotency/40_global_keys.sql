-- credits_private._payment_grant(payment_ref, account_id),
-- _top_up_request(request_id, account_id) and _subscription_event(event_id,
-- account_id): what a key that is global, not per account, was first used
-- for: the grant a payment was credited with and the auto top-up request a
-- payment answers (purchase_credits), the subscription event applied under
-- a provider's id (apply_subscription_event), whichever account it was;
-- null when none.
-- account_id is the calling account: on Citus these read only its node
-- (db/citus/functions/40_global_keys.sql), the coordinator having looked at
-- every other account first. The callers hold the key's advisory lock.
--
--   select grant_id from credits_private._payment_grant('stripe:pi_3NkXb2', 'u_42');

create or replace function credits_private._payment_grant(payment_ref text, account_id text)
returns credits_private.grants
language plpgsql
stable
as $$
declare
  v_grant credits_private.grants;
begin
  select g.* into v_grant from credits_private.grants g where g.payment_ref = _payment_grant.payment_ref;
  return v_grant;
end
$$;

create or replace function credits_private._top_up_request(request_id text, account_id text)
returns credits_private.top_up_requests
language plpgsql
stable
as $$
declare
  v_request credits_private.top_up_requests;
begin
  select r.* into v_request from credits_private.top_up_requests r where r.request_id = _top_up_request.request_id;
  return v_request;
end
$$;

create or replace function credits_private._subscription_event(event_id text, account_id text)
returns credits_private.subscription_events
language plpgsql
stable
as $$
declare
  v_event credits_private.subscription_events;
begin
  select e.* into v_event from credits_private.subscription_events e where e.event_id = _subscription_event.event_id;
  return v_event;
end
$$;
