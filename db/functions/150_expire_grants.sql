-- credits.expire_grants(): settles every balance with a grant that has
-- ended: `expiry` ledger rows for the unheld remainders. Balances never
-- count an ended grant even before this runs; pg_cron runs it every minute
-- so the ledger says so soon. Returns the number of grants expired. Service.
--
--   select * from credits.expire_grants();

create or replace function credits.expire_grants()
returns table (grants_expired integer)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_due record;
begin
  grants_expired := 0;
  for v_due in
    select b.account_id, b.credit_type
    from credits_private.balances b
    where b.settle_at <= v_now
    order by b.account_id, b.credit_type
  loop
    perform from credits_private.balances b
    where b.account_id = v_due.account_id and b.credit_type = v_due.credit_type
    for update;
    select grants_expired + count(*)::integer into grants_expired
    from credits_private.grants g
    where g.account_id = v_due.account_id and g.credit_type = v_due.credit_type
      and g.is_open and g.expires_at <= v_now;
    perform credits_private._settle(v_due.account_id, v_due.credit_type, v_now);
  end loop;
  return next;
end
$$;

comment on function credits.expire_grants() is
  'Writes expiry ledger rows for every grant that has ended (balances already leave them out). Returns how many grants expired. Service; run by pg_cron.';
revoke all on function credits.expire_grants() from public;
grant execute on function credits.expire_grants() to credits_service;
