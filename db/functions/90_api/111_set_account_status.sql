-- credits.set_account_status(account_id, status, reason): suspends, closes
-- or reactivates an account. A suspended or closed account is refused every
-- debit and hold (account_inactive); its credits stay as they are.
-- Service and admin. Errors: PT404 unknown account; PT422 bad status or no reason.
--
--   select * from credits.set_account_status('u_42', 'suspended', 'chargeback 8812');

create or replace function credits.set_account_status(account_id text, status text, reason text)
returns credits.accounts
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row credits.accounts;
begin
  if not credits_private._is_domain_value(status, 'credits_private.account_status') then
    raise exception 'invalid account status %', credits_private._shown(status)
      using errcode = 'PT422', hint = format('Pass one of: %s.', array_to_string(
              credits_private._domain_values('credits_private.account_status'), ', '));
  end if;
  perform credits_private._require_reason(reason, format('change the status of account %s', account_id));
  perform credits_private._account_to_act(account_id);
  update credits_private.accounts a
  set status = set_account_status.status, status_reason = reason, updated_at = credits.now()
  where a.account_id = set_account_status.account_id;
  select a.* into v_row from credits.accounts a where a.account_id = set_account_status.account_id;
  return v_row;
end
$$;

comment on function credits.set_account_status(text, text, text) is
  'Sets an account active, suspended or closed (then refused debits and holds), with a reason; service and admin.';
revoke all on function credits.set_account_status(text, text, text) from public;
grant execute on function credits.set_account_status(text, text, text) to credits_service;
