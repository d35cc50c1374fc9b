-- credits.purchase_credits(account_id, amount, payment_ref, credit_type,
-- expires_at, price, currency): credits a payment. Idempotent on
-- payment_ref: the same payment again returns the first grant; the same
-- payment_ref with another amount, credit type, expiry, price or account
-- raises PT409. Purchased credits burn after every given credit and never
-- expire unless told. price and currency (together) are the cost basis
-- that credits.revenue and credits.breakage read. A payment_ref that is an
-- auto top-up's request id (credits.set_auto_top_up) answers that request:
-- its account, credit type and credits must match (else PT409), price and
-- currency default to the request's, and the request is fulfilled, so a
-- payment worker that retries charges and credits once. Service and admin.
-- Errors: PT404 account or credit type; PT422 amount, payment_ref, price or
-- currency; PT409 as above.
--
--   select * from credits.purchase_credits('u_42', 100, 'stripe:pi_3NkXb2', price => 9.99, currency => 'EUR');

create or replace function credits.purchase_credits(account_id text, amount numeric, payment_ref text,
                                                    credit_type text default 'credits',
                                                    expires_at timestamptz default null,
                                                    price numeric default null, currency text default null)
returns table (grant_id bigint, available numeric)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts := credits_private._settle_account(account_id, v_now);
  v_first credits_private.grants;
  v_grant record;
  v_request credits_private.top_up_requests;
  v_price numeric := purchase_credits.price;
  v_currency text := purchase_credits.currency;
begin
  perform credits_private._check_amount(amount, 'amount');
  perform credits_private._check_key(payment_ref, 'payment_ref');
  perform credits_private._require_credit_type(credit_type);
  perform credits_private._check_price(price, currency);

  -- One payment is credited once, whichever account names it: serialize on it.
  perform pg_advisory_xact_lock(hashtextextended('pgcredits.payment_ref:' || payment_ref, 0));

  -- An auto top-up's request: the purchase must be what it asked for.
  v_request := credits_private._top_up_request(payment_ref, account_id);
  if v_request.request_id is not null then
    if v_request.account_id <> account_id or v_request.credit_type <> credit_type
       or v_request.credits <> amount then
      raise exception 'payment % answers top-up request % with other arguments', payment_ref, v_request.request_id
        using errcode = 'PT409',
              detail = format('the request is for %s %s of %s', v_request.credits, v_request.credit_type,
                              case when v_request.account_id = account_id then v_request.account_id
                                   else '(another account)' end),
              hint = 'Pass the account, credit type and credits of the top_up_requested event.';
    end if;
    if v_price is null then
      v_price := v_request.price;
      v_currency := v_request.currency;
    end if;
  end if;

  v_first := credits_private._payment_grant(payment_ref, account_id);
  if v_first.grant_id is not null then
    if v_first.account_id <> account_id or v_first.amount <> amount or v_first.credit_type <> credit_type
       or v_first.expires_at is distinct from expires_at
       or v_first.price is distinct from v_price or v_first.currency is distinct from v_currency then
      raise exception 'payment % was already credited with other arguments', payment_ref
        using errcode = 'PT409',
              detail = format('grant %s: account %s, %s %s, expires %s, price %s', v_first.grant_id,
                              case when v_first.account_id = account_id then v_first.account_id
                                   else '(another account)' end,
                              v_first.amount, v_first.credit_type, coalesce(v_first.expires_at::text, 'never'),
                              coalesce(v_first.price || ' ' || v_first.currency, 'unknown')),
              hint = 'A payment is credited once; a retry must repeat the first call''s arguments.';
    end if;
    return query
    select v_first.grant_id, l.available_after
    from credits_private.ledger_entries l
    where l.account_id = v_first.account_id and l.kind = 'grant' and l.grant_id = v_first.grant_id;
    return;
  end if;

  v_grant := credits_private._add_grant(
    account_id, credit_type, 'purchase', amount, expires_at, null, v_now, v_account.period_start,
    payment_ref => payment_ref, reason => 'purchase ' || payment_ref, price => v_price, currency => v_currency);
  if v_request.request_id is not null then
    perform credits_private._end_top_up(v_request, 'fulfilled', v_grant.grant_id, null, v_now);
  end if;
  return query select v_grant.grant_id, v_grant.available;
end
$$;

comment on function credits.purchase_credits(text, numeric, text, text, timestamptz, numeric, text) is
  'Credits a purchase (with its price, the cost basis of credits.revenue), which burns after every given credit and never expires unless told, idempotent on payment_ref (an auto top-up''s request id: answers that request); service and admin.';
revoke all on function credits.purchase_credits(text, numeric, text, text, timestamptz, numeric, text) from public;
grant execute on function credits.purchase_credits(text, numeric, text, text, timestamptz, numeric, text) to credits_service;
