-- credits.expire_holds(): settles every hold that has lapsed: its earmarks
-- and per-period use come back (status expired). A lapsed hold blocks
-- nothing even before this runs; pg_cron runs it every minute so the books
-- say so soon. Returns the number of holds released. It is the same sweep
-- as expire_grants() (credits_private._settle_due): whatever is due on a
-- balance is settled together. Service.
--
--   select * from credits.expire_holds();

create or replace function credits.expire_holds()
returns table (holds_released integer)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  select s.holds_released into holds_released from credits_private._settle_due(credits.now()) s;
  return next;
end
$$;

comment on function credits.expire_holds() is
  'Releases every hold past its expires_at and returns how many; service, run by pg_cron.';
revoke all on function credits.expire_holds() from public;
grant execute on function credits.expire_holds() to credits_service;
