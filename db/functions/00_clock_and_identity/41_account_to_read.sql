-- credits_private._account_to_read(account_id): the account row for a call
-- that reads it: service, admin and the auditor reach every account, a
-- credits_user its own (_account_for).
--
--   select (credits_private._account_to_read('u_42')).plan;

create or replace function credits_private._account_to_read(account_id text)
returns credits_private.accounts
language sql
stable
return credits_private._account_for(account_id, credits_private._caller_sees_all());
