-- credits.fail_top_up(request_id, reason): the payment worker's answer
-- when an auto top-up's payment was declined: the request fails (no
-- credits), and the next request waits twice as long as the last
-- (credits.auto_top_ups.backoff). Failing a failed request again changes
-- nothing. Service and admin. Returns the request.
-- Errors: PT404 unknown request; PT422 no reason; PT409 a request a
-- purchase already fulfilled.
--
--   select * from credits.fail_top_up('top_up_81', 'card declined');

create or replace function credits.fail_top_up(request_id text, reason text)
returns credits.top_up_requests
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_request credits_private.top_up_requests;
  v_result credits.top_up_requests;
begin
  perform credits_private._require_reason(reason, format('fail top-up request %s', request_id));
  select r.* into v_request from credits_private.top_up_requests r where r.request_id = fail_top_up.request_id;
  if not found then
    raise exception 'unknown top-up request %', coalesce(credits_private._shown(request_id), 'null')
      using errcode = 'PT404', hint = 'Pass the request_id of a top_up_requested event.';
  end if;
  perform credits_private._account_to_act(v_request.account_id);
  -- The lock purchase_credits takes on the same payment_ref, then the balance's.
  perform pg_advisory_xact_lock(hashtextextended('pgcredits.payment_ref:' || v_request.request_id, 0));
  perform credits_private._lock_balance(v_request.account_id, v_request.credit_type, v_now);
  select r.* into v_request
  from credits_private.top_up_requests r
  where r.account_id = v_request.account_id and r.request_id = fail_top_up.request_id;
  if v_request.status = 'fulfilled' then
    raise exception 'top-up request % was fulfilled by grant %', v_request.request_id, v_request.grant_id
      using errcode = 'PT409', detail = format('credited at %s', v_request.ended_at),
            hint = 'A paid request cannot fail; refund or void the grant to take the credits back.';
  end if;
  perform credits_private._end_top_up(v_request, 'failed', null, reason, v_now);

  select r.* into v_result
  from credits.top_up_requests r
  where r.account_id = v_request.account_id and r.request_id = fail_top_up.request_id;
  return v_result;
end
$$;

comment on function credits.fail_top_up(text, text) is
  'Fails an auto top-up request whose payment was declined, doubling the wait before the next request; service and admin.';
revoke all on function credits.fail_top_up(text, text) from public;
grant execute on function credits.fail_top_up(text, text) to credits_service;
