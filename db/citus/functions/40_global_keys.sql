-- Keys that are global, not per account, on a Citus cluster: a payment is
-- credited once (purchase_credits' payment_ref), a provider's event applied
-- once (apply_subscription_event's event_id), whichever account names it.
-- A delegated call may read only its account's rows, so the coordinator
-- looks at every other account first, under the key's advisory lock (taken
-- on the coordinator, which every call passes through, and held until the
-- distributed transaction commits); the node then reads its account only.
-- Twins: db/functions/20_idempotency/40_global_keys.sql, and the PT409 of
-- purchase_credits and apply_subscription_event, whose messages these repeat.

create or replace function credits_private._payment_grant(payment_ref text, account_id text)
returns credits_private.grants
language plpgsql
stable
as $$
declare
  v_grant credits_private.grants;
begin
  select g.* into v_grant
  from credits_private.grants g
  where g.account_id = _payment_grant.account_id and g.payment_ref = _payment_grant.payment_ref;
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
  select r.* into v_request
  from credits_private.top_up_requests r
  where r.account_id = _top_up_request.account_id and r.request_id = _top_up_request.request_id;
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
  select e.* into v_event
  from credits_private.subscription_events e
  where e.account_id = _subscription_event.account_id and e.event_id = _subscription_event.event_id;
  return v_event;
end
$$;

-- On the coordinator, before purchase_credits is delegated.
create or replace function credits_private._citus_before_purchase_credits(account_id text, amount numeric,
                                                                          payment_ref text, credit_type text,
                                                                          expires_at timestamptz,
                                                                          price numeric, currency text)
returns void
language plpgsql
as $$
declare
  v_other credits_private.grants;
  v_request credits_private.top_up_requests;
begin
  if payment_ref is null then
    return;  -- the node refuses it (PT422)
  end if;
  perform pg_advisory_xact_lock(hashtextextended('pgcredits.payment_ref:' || payment_ref, 0));
  select g.* into v_other
  from credits_private.grants g
  where g.payment_ref = _citus_before_purchase_credits.payment_ref
    and g.account_id is distinct from _citus_before_purchase_credits.account_id
  limit 1;
  if found then
    raise exception 'payment % was already credited with other arguments', payment_ref
      using errcode = 'PT409',
            detail = format('grant %s: account %s, %s %s, expires %s', v_other.grant_id, '(another account)',
                            v_other.amount, v_other.credit_type, coalesce(v_other.expires_at::text, 'never')),
            hint = 'A payment is credited once; a retry must repeat the first call''s arguments.';
  end if;
  select r.* into v_request
  from credits_private.top_up_requests r
  where r.request_id = _citus_before_purchase_credits.payment_ref
    and r.account_id is distinct from _citus_before_purchase_credits.account_id
  limit 1;
  if found then
    raise exception 'payment % answers top-up request % with other arguments', payment_ref, v_request.request_id
      using errcode = 'PT409',
            detail = format('the request is for %s %s of %s', v_request.credits, v_request.credit_type,
                            '(another account)'),
            hint = 'Pass the account, credit type and credits of the top_up_requested event.';
  end if;
end
$$;

-- On the coordinator, before apply_subscription_event is delegated.
create or replace function credits_private._citus_before_apply_subscription_event(event_id text, account_id text,
                                                                                  plan text, status text,
                                                                                  period_start timestamptz,
                                                                                  period_end timestamptz)
returns void
language plpgsql
as $$
declare
  v_other credits_private.subscription_events;
begin
  if event_id is null then
    return;  -- the node refuses it (PT422)
  end if;
  perform pg_advisory_xact_lock(hashtextextended('pgcredits.subscription_event:' || event_id, 0));
  select e.* into v_other
  from credits_private.subscription_events e
  where e.event_id = _citus_before_apply_subscription_event.event_id
    and e.account_id is distinct from _citus_before_apply_subscription_event.account_id
  limit 1;
  if found then
    raise exception 'subscription event % was already applied with other arguments', event_id
      using errcode = 'PT409',
            detail = format('account %s, plan %s, %s, %s to %s', '(another account)', v_other.plan, v_other.status,
                            v_other.period_start, v_other.period_end),
            hint = 'An event is applied once; a retry must repeat the first call''s arguments.';
  end if;
end
$$;
