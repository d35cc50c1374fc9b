-- credits.purchase_credits(account_id, amount, payment_ref, credit_type,
-- expires_at): credits a payment. Idempotent on payment_ref: the same
-- payment again returns the first grant; the same payment_ref with another
-- amount, credit type, expiry or account raises PT409. Purchased credits
-- burn after every given credit and never expire unless told. Service and admin.
--
--   select * from credits.purchase_credits('u_42', 100, 'stripe:pi_3NkXb2');

create or replace function credits.purchase_credits(account_id text, amount numeric, payment_ref text,
                                                    credit_type text default 'credits',
                                                    expires_at timestamptz default null)
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
begin
  perform credits_private._check_amount(amount, 'amount');
  perform credits_private._check_key(payment_ref, 'payment_ref');
  perform credits_private._require_credit_type(credit_type);

  -- One payment is credited once, whichever account names it: serialize on it.
  perform pg_advisory_xact_lock(hashtextextended('pgcredits.payment_ref:' || payment_ref, 0));
  v_first := credits_private._payment_grant(payment_ref, account_id);
  if v_first.grant_id is not null then
    if v_first.account_id <> account_id or v_first.amount <> amount or v_first.credit_type <> credit_type
       or v_first.expires_at is distinct from expires_at then
      raise exception 'payment % was already credited with other arguments', payment_ref
        using errcode = 'PT409',
              detail = format('grant %s: account %s, %s %s, expires %s', v_first.grant_id,
                              case when v_first.account_id = account_id then v_first.account_id
                                   else '(another account)' end,
                              v_first.amount, v_first.credit_type, coalesce(v_first.expires_at::text, 'never')),
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
    payment_ref => payment_ref, reason => 'purchase ' || payment_ref);
  return query select v_grant.grant_id, v_grant.available;
end
$$;

comment on function credits.purchase_credits(text, numeric, text, text, timestamptz) is
  'Credits a purchase, which burns after every given credit and never expires unless told, idempotent on payment_ref; service and admin.';
revoke all on function credits.purchase_credits(text, numeric, text, text, timestamptz) from public;
grant execute on function credits.purchase_credits(text, numeric, text, text, timestamptz) to credits_service;
