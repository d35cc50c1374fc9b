-- credits_private._end_top_up(request, status, grant_id, reason, at): ends
-- an auto top-up's request: `fulfilled` by the purchase that answered it
-- (purchase_credits with payment_ref = its id: even a request declined
-- before, when the payment went through after all) or `failed` by
-- fail_top_up. A decline doubles the settings' back-off and waits that
-- long before the next request; a fulfilment resets the back-off to the
-- cooldown, counted from the request it answers. Ending a request that has ended changes nothing (a fulfilled
-- one stays fulfilled). The caller holds the balance lock.
--
--   perform credits_private._end_top_up(r, 'failed', null, 'card declined', credits.now());

create or replace function credits_private._end_top_up(request credits_private.top_up_requests, status text,
                                                       grant_id bigint, reason text, at timestamptz)
returns void
language plpgsql
as $$
begin
  update credits_private.top_up_requests r
  set status = _end_top_up.status, grant_id = _end_top_up.grant_id, reason = _end_top_up.reason, ended_at = at
  where r.account_id = request.account_id and r.request_id = request.request_id
    and (r.status = 'open' or (r.status = 'failed' and _end_top_up.status = 'fulfilled'));
  if not found then
    return;
  end if;
  update credits_private.auto_top_ups t
  set backoff = case when _end_top_up.status = 'failed' then t.backoff * 2 else t.cooldown end,
      next_request_at = case when _end_top_up.status = 'failed' then at + t.backoff * 2
                             else request.created_at + t.cooldown end,
      updated_at = at
  where t.account_id = request.account_id and t.credit_type = request.credit_type;
end
$$;
