-- credits_private._settle_due(at): settles every balance with something due
-- by `at` (a grant that ended, a hold that lapsed: balances.settle_at), one
-- balance at a time, each under its lock, in (account_id, credit_type)
-- order, the pools' last (db/README.md, "Lock order"). Counts the grants
-- it expired and the holds it released. The one
-- sweep behind expire_grants() and expire_holds().

create or replace function credits_private._settle_due(at timestamptz, out grants_expired integer,
                                                       out holds_released integer)
language plpgsql
as $$
declare
  v_due record;
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
    perform from credits_private.balances b
    where b.account_id = v_due.account_id and b.credit_type = v_due.credit_type
    for update;
    select grants_expired + count(*)::integer into grants_expired
    from credits_private.grants g
    where g.account_id = v_due.account_id and g.credit_type = v_due.credit_type
      and g.is_open and g.expires_at <= at;
    select holds_released + count(*)::integer into holds_released
    from credits_private._lapsed_holds(v_due.account_id, v_due.credit_type, at) h;
    perform credits_private._settle(v_due.account_id, v_due.credit_type, at);
  end loop;
end
$$;
