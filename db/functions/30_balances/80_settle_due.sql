-- credits_private._settle_due(at): settles every balance with something due
-- by `at` (a grant that ended, a hold that lapsed: balances.settle_at), one
-- balance at a time, each under its lock (_settle_due_balance), in
-- (account_id, credit_type) order, the pools' last (db/README.md, "Lock
-- order"). Counts the grants it expired and the holds it released. The one
-- sweep behind expire_grants() and expire_holds(); on Citus each balance is
-- settled on its node (db/citus/functions/70_jobs.sql).

create or replace function credits_private._settle_due(at timestamptz, out grants_expired integer,
                                                       out holds_released integer)
language plpgsql
as $$
declare
  v_due record;
  v_settled record;
begin
  grants_expired := 0;
  holds_released := 0;
  for v_due in
    select b.account_id, b.credit_type
    from credits_private.balances b
    left join credits_private.pools p on p.account_id = b.account_id
    where b.settle_at <= at
    order by p.account_id is not null, b.account_id, b.credit_type
  loop
    v_settled := credits_private._settle_due_balance(v_due.account_id, v_due.credit_type, at);
    grants_expired := grants_expired + v_settled.grants_expired;
    holds_released := holds_released + v_settled.holds_released;
  end loop;
end
$$;
