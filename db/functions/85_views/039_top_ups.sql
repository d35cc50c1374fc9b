-- credits.auto_top_ups and credits.top_up_requests: the auto top-up
-- settings per balance (credits.set_auto_top_up) and the requests debits
-- made (open until purchase_credits fulfils one or fail_top_up fails it).
-- A payment worker may read the open requests here as well as from the
-- top_up_requested events. A user sees its own rows.

create or replace view credits.auto_top_ups with (security_barrier) as
  select account_id, credit_type, threshold, credits, price, currency, cooldown, backoff, monthly_limit,
         next_request_at, updated_at
  from credits_private.auto_top_ups;

create or replace view credits.top_up_requests with (security_barrier) as
  select request_id, account_id, credit_type, credits, price, currency, status, entry_id as transaction_id,
         grant_id, reason, created_at, ended_at
  from credits_private.top_up_requests;

comment on view credits.auto_top_ups is
  'Auto top-up settings per account and credit type: below threshold a debit requests credits for price, at most once per cooldown (doubled by each decline: backoff) and monthly_limit credits a period.';
comment on view credits.top_up_requests is
  'Auto top-up requests: open until purchase_credits(payment_ref => request_id) fulfils one or fail_top_up fails it.';
revoke all on credits.auto_top_ups, credits.top_up_requests from public;
grant select on credits.auto_top_ups, credits.top_up_requests
  to credits_service, credits_admin, credits_user, credits_auditor;
