-- credits_private._lock_balance(account_id, credit_type, at): locks the
-- balance row of an account and credit type (creating it at zero when the
-- account never had that type) and settles it. Every change to a balance or
-- to the grants behind it goes through this lock or through the conditional
-- UPDATE of deduct_credits or reserve_credits, which takes the same row lock.

create or replace function credits_private._lock_balance(account_id text, credit_type text, at timestamptz)
returns credits_private.balances
language plpgsql
as $$
declare
  v_balance credits_private.balances;
begin
  select b.* into v_balance
  from credits_private.balances b
  where b.account_id = _lock_balance.account_id and b.credit_type = _lock_balance.credit_type
  for update;
  if not found then
    insert into credits_private.balances (account_id, credit_type, updated_at)
    values (account_id, credit_type, at)
    on conflict do nothing;
    select b.* into strict v_balance
    from credits_private.balances b
    where b.account_id = _lock_balance.account_id and b.credit_type = _lock_balance.credit_type
    for update;
  end if;
  if v_balance.settle_at <= at then
    v_balance := credits_private._settle(account_id, credit_type, at);
  end if;
  return v_balance;
end
$$;
