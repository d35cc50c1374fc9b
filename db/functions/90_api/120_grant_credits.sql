-- credits.grant_credits(account_id, amount, source, credit_type, expires_at,
-- priority, idempotency_key, reason, starts_at): adds a lot of credits.
-- Service and admin; an `admin` grant needs a reason. Lower priority burns
-- first; the default is 100 for given credits and 200 for purchases. A
-- future starts_at makes a future-dated grant: not available, drawn or
-- expiring before it starts (it is in the ledger from now, held for its
-- start); a starts_at not in the future counts at once.
-- Errors: PT404 unknown account or credit type; PT422 bad amount, source,
-- past expires_at, expires_at not after starts_at or missing reason; PT409
-- key reused with other arguments.
--
--   select * from credits.grant_credits('u_42', 50, 'promo', expires_at => now() + interval '7 days');
--   select * from credits.grant_credits('u_42', 100, 'promo', starts_at => '2026-04-01', reason => 'April gift');

create or replace function credits.grant_credits(account_id text, amount numeric, source text default 'admin',
                                                 credit_type text default 'credits',
                                                 expires_at timestamptz default null,
                                                 priority integer default null,
                                                 idempotency_key text default null,
                                                 reason text default null,
                                                 starts_at timestamptz default null)
returns table (grant_id bigint, available numeric)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts := credits_private._settle_account(account_id, v_now);
  v_grant record;
begin
  perform credits_private._check_amount(amount, 'amount');
  if not credits_private._is_domain_value(source, 'credits_private.grant_source') then
    raise exception 'invalid grant source %', credits_private._shown(source)
      using errcode = 'PT422', hint = format('Use one of: %s.', array_to_string(
              credits_private._domain_values('credits_private.grant_source'), ', '));
  end if;
  if source = 'admin' then
    perform credits_private._require_reason(reason, format('grant admin credits to account %s', account_id));
  end if;
  perform credits_private._require_credit_type(credit_type);

  v_grant := credits_private._add_grant(
    account_id, credit_type, source, amount, expires_at, priority, v_now, v_account.period_start,
    idempotency_key => idempotency_key,
    -- starts_at joins the fingerprint only when given, so keys stored
    -- before it existed still match their retries.
    request_hash => credits_private._request_hash(jsonb_build_array(
      'grant_credits', amount, source, credit_type, extract(epoch from expires_at), priority, reason)
      || case when starts_at is null then '[]'::jsonb else jsonb_build_array(extract(epoch from starts_at)) end),
    reason => reason, starts_at => starts_at);
  return query select v_grant.grant_id, v_grant.available;
end
$$;

comment on function credits.grant_credits(text, numeric, text, text, timestamptz, integer, text, text, timestamptz) is
  'Grants a lot of credits with its own source, priority, expiry and start (a future starts_at: not available before it), idempotent on idempotency_key; service and admin, an admin grant with a reason.';
revoke all on function credits.grant_credits(text, numeric, text, text, timestamptz, integer, text, text, timestamptz) from public;
grant execute on function credits.grant_credits(text, numeric, text, text, timestamptz, integer, text, text, timestamptz)
  to credits_service;
