-- credits.expire_holds(): settles every hold that has lapsed: its earmarks
-- and per-period use come back (status expired). A lapsed hold blocks
-- nothing even before this runs; pg_cron runs it every minute so the books
-- say so soon. Returns the number of holds released. Service.
--
--   select * from credits.expire_holds();

create or replace function credits.expire_holds()
returns table (holds_released integer)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_due record;
begin
  holds_released := 0;
  for v_due in
    select h.account_id, h.credit_type
    from credits_private.holds h
    where h.status = 'held' and h.expires_at <= v_now
    group by h.account_id, h.credit_type
    order by h.account_id, h.credit_type
  loop
    perform from credits_private.balances b
    where b.account_id = v_due.account_id and b.credit_type = v_due.credit_type
    for update;
    select holds_released + count(*)::integer into holds_released
    from credits_private.holds h
    where h.account_id = v_due.account_id and h.credit_type = v_due.credit_type
      and h.status = 'held' and h.expires_at <= v_now;
    perform credits_private._settle(v_due.account_id, v_due.credit_type, v_now);
  end loop;
  return next;
end
$$;

comment on function credits.expire_holds() is
  'Releases every hold past its expires_at (earmarks and per-period use come back). Returns how many. Service; run by pg_cron.';
revoke all on function credits.expire_holds() from public;
grant execute on function credits.expire_holds() to credits_service;
