-- credits_private._settle_due_balance(account_id, credit_type, at): settles
-- one balance with something due by `at` under its lock (a grant that
-- ended, a hold that lapsed: _settle), counting the grants it expires and
-- the holds it releases. Called by the sweep, _settle_due, balance by
-- balance (on Citus, on the balance's node).

create or replace function credits_private._settle_due_balance(account_id text, credit_type text, at timestamptz,
                                                               out grants_expired integer,
                                                               out holds_released integer)
language plpgsql
as $$
begin
  perform from credits_private.balances b
  where b.account_id = _settle_due_balance.account_id and b.credit_type = _settle_due_balance.credit_type
  for update;
  select count(*)::integer into grants_expired
  from credits_private.grants g
  where g.account_id = _settle_due_balance.account_id and g.credit_type = _settle_due_balance.credit_type
    and g.is_open and g.expires_at <= at;
  select count(*)::integer into holds_released
  from credits_private._lapsed_holds(_settle_due_balance.account_id, _settle_due_balance.credit_type, at) h;
  perform credits_private._settle(_settle_due_balance.account_id, _settle_due_balance.credit_type, at);
end
$$;
