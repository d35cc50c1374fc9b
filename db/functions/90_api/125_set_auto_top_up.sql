-- credits.set_auto_top_up(account_id, credit_type, threshold, credits,
-- price, cooldown, monthly_limit, currency): an auto top-up for a balance.
-- A debit that leaves what is available below threshold requests `credits`
-- for `price` (a top_up_requested event with its request id, in the
-- debit's transaction), unless a request is open, within `cooldown` of the
-- last request (doubled by each decline, fail_top_up) or when it would take
-- the credits requested this period past monthly_limit (null: no limit).
-- The payment worker answers with purchase_credits(payment_ref => request
-- id) or fail_top_up. A null threshold turns the auto top-up off (an open
-- request can still be answered). Setting it again resets the back-off.
-- Service and admin. Returns the settings (all null when turned off).
-- Errors: PT404 account or credit type; PT422 threshold, credits, price,
-- currency, cooldown or monthly_limit.
--
--   select * from credits.set_auto_top_up('u_42', 'credits', threshold => 20, credits => 100, price => 9.99,
--                                         cooldown => '1 hour', monthly_limit => 500, currency => 'EUR');

create or replace function credits.set_auto_top_up(account_id text, credit_type text, threshold numeric,
                                                   credits numeric, price numeric default null,
                                                   cooldown interval default '1 hour',
                                                   monthly_limit numeric default null,
                                                   currency text default null)
returns credits.auto_top_ups
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_account credits_private.accounts := credits_private._settle_account(account_id, v_now);
  v_settings credits.auto_top_ups;
begin
  perform credits_private._require_credit_type(credit_type);
  if threshold is not null then
    perform credits_private._check_amount(threshold, 'threshold');
    perform credits_private._check_amount(credits, 'credits');
    perform credits_private._check_price(price, currency);
    if cooldown is null or cooldown < interval '0' then
      raise exception 'cooldown must be 0 or more, got %', coalesce(cooldown::text, 'null')
        using errcode = 'PT422', hint = 'Pass how long to wait between two requests, such as 1 hour.';
    end if;
    if monthly_limit is not null then
      perform credits_private._check_amount(monthly_limit, 'monthly_limit');
      if monthly_limit < credits then
        raise exception 'monthly_limit % is below credits %: no request could be made', monthly_limit, credits
          using errcode = 'PT422', hint = 'Pass a monthly_limit of at least one request''s credits, or null.';
      end if;
    end if;
  end if;

  perform credits_private._lock_balance(v_account.account_id, credit_type, v_now);
  if threshold is null then
    delete from credits_private.auto_top_ups t
    where t.account_id = v_account.account_id and t.credit_type = set_auto_top_up.credit_type;
  else
    insert into credits_private.auto_top_ups as t
      (account_id, credit_type, threshold, credits, price, currency, cooldown, backoff, monthly_limit, updated_at)
    values
      (v_account.account_id, credit_type, threshold, credits, price, currency, cooldown, cooldown, monthly_limit,
       v_now)
    on conflict on constraint auto_top_ups_pkey do update
    set threshold = excluded.threshold, credits = excluded.credits, price = excluded.price,
        currency = excluded.currency, cooldown = excluded.cooldown, backoff = excluded.cooldown,
        monthly_limit = excluded.monthly_limit,
        next_request_at = least(t.next_request_at,
                                (select max(r.created_at) from credits_private.top_up_requests r
                                 where r.account_id = t.account_id and r.credit_type = t.credit_type)
                                + excluded.cooldown),
        updated_at = excluded.updated_at;
  end if;
  update credits_private.balances b
  set top_up_below = set_auto_top_up.threshold
  where b.account_id = v_account.account_id and b.credit_type = set_auto_top_up.credit_type;

  select s.* into v_settings
  from credits.auto_top_ups s
  where s.account_id = v_account.account_id and s.credit_type = set_auto_top_up.credit_type;
  return v_settings;
end
$$;

comment on function credits.set_auto_top_up(text, text, numeric, numeric, numeric, interval, numeric, text) is
  'Sets (or, with a null threshold, removes) the auto top-up of a balance: below threshold a debit requests credits for price, once per cooldown and within monthly_limit; service and admin.';
revoke all on function credits.set_auto_top_up(text, text, numeric, numeric, numeric, interval, numeric, text)
  from public;
grant execute on function credits.set_auto_top_up(text, text, numeric, numeric, numeric, interval, numeric, text)
  to credits_service;
