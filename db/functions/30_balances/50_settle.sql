-- credits_private._settle(account_id, credit_type, at): writes what time has
-- done to a balance, under its lock: holds that lapsed by `at` give their
-- earmarks back (status expired), then every grant that ended by `at`
-- loses its unheld remainder in an `expiry` ledger row (a held part stays
-- for its hold), and settle_at moves to the next grant end, hold lapse or
-- start of a future-dated grant. Future-dated grants that have started
-- first release what they held for their start (grants.not_before,
-- migration 0013; read as free by _free_grants). Returns the settled
-- balance row.

create or replace function credits_private._settle(account_id text, credit_type text, at timestamptz)
returns credits_private.balances
language plpgsql
as $$
declare
  v_hold credits_private.holds;
  v_grant record;
  v_balance credits_private.balances;
begin
  -- Future-dated grants that have started (not_before): what they held
  -- for their start is free (nothing else can earmark them before).
  with started as (
    update credits_private.grants g
    set held = 0, not_before = null
    where g.account_id = _settle.account_id
      and g.credit_type = _settle.credit_type
      and g.is_open
      and g.not_before <= at
    returning g.remaining
  )
  update credits_private.balances b
  set held = b.held - s.remaining, updated_at = at
  from (select sum(started.remaining) as remaining from started) s
  where b.account_id = _settle.account_id and b.credit_type = _settle.credit_type and s.remaining is not null;

  for v_hold in
    select h.*
    from credits_private._lapsed_holds(_settle.account_id, _settle.credit_type, _settle.at) h
    order by h.expires_at, h.hold_id
  loop
    perform credits_private._end_hold(v_hold, 'expired', 0, at);
  end loop;

  for v_grant in
    select g.grant_id, g.remaining - g.held as lapse, g.expires_at
    from credits_private.grants g
    where g.account_id = _settle.account_id
      and g.credit_type = _settle.credit_type
      and g.is_open
      and g.expires_at <= at
    order by g.expires_at, g.grant_id
  loop
    update credits_private.grants g
    set expired_at = at
    where g.account_id = _settle.account_id and g.grant_id = v_grant.grant_id;
    perform credits_private._write_off_grant(account_id, credit_type, v_grant.grant_id, 'expiry',
                                             format('grant %s ended at %s', v_grant.grant_id, v_grant.expires_at), at);
  end loop;

  update credits_private.balances b
  set settle_at = least((select min(g.expires_at)
                         from credits_private.grants g
                         where g.account_id = _settle.account_id
                           and g.credit_type = _settle.credit_type
                           and g.is_open
                           and g.expires_at > at),
                        (select min(h.expires_at)
                         from credits_private.holds h
                         where h.account_id = _settle.account_id
                           and h.credit_type = _settle.credit_type
                           and h.status = 'held'),
                        (select min(g.not_before)
                         from credits_private.grants g
                         where g.account_id = _settle.account_id
                           and g.credit_type = _settle.credit_type
                           and g.is_open
                           and g.not_before > at)),
      updated_at = at
  where b.account_id = _settle.account_id and b.credit_type = _settle.credit_type
  returning b.* into v_balance;
  return v_balance;
end
$$;
