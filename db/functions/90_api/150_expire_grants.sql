-- credits.expire_grants(): settles every balance with a grant that has
-- ended: `expiry` ledger rows for the unheld remainders. Balances never
-- count an ended grant even before this runs; pg_cron runs it every minute
-- so the ledger says so soon. The same sweep as expire_holds()
-- (credits_private._settle_due): whatever is due on a balance is settled
-- together. Returns the number of grants expired. Service.
--
--   select * from credits.expire_grants();

create or replace function credits.expire_grants()
returns table (grants_expired integer)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  select s.grants_expired into grants_expired from credits_private._settle_due(credits.now()) s;
  return next;
end
$$;

comment on function credits.expire_grants() is
  'Writes the expiry ledger rows of every grant that has ended and returns how many; service, run by pg_cron.';
revoke all on function credits.expire_grants() from public;
grant execute on function credits.expire_grants() to credits_service;
