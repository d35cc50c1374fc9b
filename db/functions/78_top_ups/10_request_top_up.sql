-- credits_private._request_top_up(account_id, credit_type, period_start,
-- available, entry_id, at): an auto top-up's request, made by a debit that
-- left `available` below the balance's threshold (balances.top_up_below,
-- the one check a debit pays), in the debit's transaction and under its
-- balance lock: one `top_up_requests` row and its `top_up_requested`
-- event, unless a request is still open, the cooldown has not passed
-- (auto_top_ups.next_request_at) or the request would take the credits
-- requested in the account's period (from period_start) past the monthly
-- limit. Locks the settings row after the balance row (db/README.md, lock
-- order). Returns the request id, or null when nothing was requested.
--
--   perform credits_private._request_top_up('u_42', 'credits', p, 3.5, 81, credits.now());

create or replace function credits_private._request_top_up(account_id text, credit_type text,
                                                           period_start timestamptz, available numeric,
                                                           entry_id bigint, at timestamptz)
returns text
language plpgsql
as $$
declare
  v_settings credits_private.auto_top_ups;
  v_request_id text;
begin
  select t.* into v_settings
  from credits_private.auto_top_ups t
  where t.account_id = _request_top_up.account_id and t.credit_type = _request_top_up.credit_type
  for update;
  if not found or available >= v_settings.threshold or v_settings.next_request_at > at then
    return null;
  end if;
  if exists (select from credits_private.top_up_requests r
             where r.account_id = _request_top_up.account_id and r.credit_type = _request_top_up.credit_type
               and r.status = 'open') then
    return null;
  end if;
  if v_settings.monthly_limit is not null
     and (select coalesce(sum(r.credits), 0)
          from credits_private.top_up_requests r
          where r.account_id = _request_top_up.account_id and r.credit_type = _request_top_up.credit_type
            and r.status <> 'failed' and r.created_at >= _request_top_up.period_start)
         + v_settings.credits > v_settings.monthly_limit then
    return null;
  end if;

  v_request_id := 'top_up_' || nextval('credits_private.top_up_request_ids');
  insert into credits_private.top_up_requests
    (account_id, request_id, credit_type, credits, price, currency, entry_id, created_at)
  values
    (account_id, v_request_id, credit_type, v_settings.credits, v_settings.price, v_settings.currency, entry_id, at);
  update credits_private.auto_top_ups t
  set next_request_at = at + t.backoff, updated_at = at
  where t.account_id = _request_top_up.account_id and t.credit_type = _request_top_up.credit_type;
  perform credits_private._emit_event(
    account_id, 'top_up_requested', credit_type,
    jsonb_build_object('request_id', v_request_id, 'credits', v_settings.credits, 'price', v_settings.price,
                       'currency', v_settings.currency, 'threshold', v_settings.threshold,
                       'available', available),
    at);
  return v_request_id;
end
$$;
