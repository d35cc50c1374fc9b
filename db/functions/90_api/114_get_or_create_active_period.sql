-- credits.get_or_create_active_period(account_id): the account's current
-- billing period, opening it (and issuing its monthly allowance) when the
-- last one has ended. Concurrent callers open it once. Service and admin.
-- Errors: PT404 unknown account; 42501.
--
--   select * from credits.get_or_create_active_period('u_42');

create or replace function credits.get_or_create_active_period(account_id text)
returns table (period_id bigint, period_start timestamptz, period_end timestamptz)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_account credits_private.accounts := credits_private._settle_account(account_id, credits.now());
begin
  return query
  select p.period_id, p.period_start, p.period_end
  from credits_private.periods p
  where p.account_id = v_account.account_id and p.period_start = v_account.period_start;
end
$$;

comment on function credits.get_or_create_active_period(text) is
  'The account''s current billing period, opened with its allowances when the last one has ended; service and admin.';
revoke all on function credits.get_or_create_active_period(text) from public;
grant execute on function credits.get_or_create_active_period(text) to credits_service;
