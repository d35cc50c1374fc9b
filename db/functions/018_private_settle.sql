-- credits_private._settle(account_id, credit_type, at): writes what time has
-- done to a balance: every grant that ended by `at` loses its unheld
-- remainder in an `expiry` ledger row (a held part stays for its hold), and
-- the balance's settle_at moves to the next grant end. The caller holds the
-- balance row lock. Returns the settled balance row.

create or replace function credits_private._settle(account_id text, credit_type text, at timestamptz)
returns credits_private.balances
language plpgsql
as $$
declare
  v_grant record;
  v_balance credits_private.balances;
begin
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
    set remaining = g.held, expired_at = at
    where g.account_id = _settle.account_id and g.grant_id = v_grant.grant_id;

    if v_grant.lapse > 0 then
      update credits_private.balances b
      set balance = b.balance - v_grant.lapse, updated_at = at
      where b.account_id = _settle.account_id and b.credit_type = _settle.credit_type
      returning b.* into v_balance;

      insert into credits_private.ledger_entries
        (account_id, credit_type, kind, amount, balance_before, balance_after, available_after,
         grant_id, actor, reason, created_at)
      values
        (account_id, credit_type, 'expiry', -v_grant.lapse, v_balance.balance + v_grant.lapse,
         v_balance.balance, v_balance.balance - v_balance.held, v_grant.grant_id,
         credits_private._actor(), format('grant %s ended at %s', v_grant.grant_id, v_grant.expires_at), at);
    end if;
  end loop;

  update credits_private.balances b
  set settle_at = (select min(g.expires_at)
                   from credits_private.grants g
                   where g.account_id = _settle.account_id
                     and g.credit_type = _settle.credit_type
                     and g.is_open
                     and g.expires_at > at),
      updated_at = at
  where b.account_id = _settle.account_id and b.credit_type = _settle.credit_type
  returning b.* into v_balance;
  return v_balance;
end
$$;
