-- credits_private._settle_account(account_id, at, trusted): the account for a
-- mutating call: the caller may act on it (trusted: the pool a member's
-- debit draws on, credits_private._pool_charge, whoever calls), its current period is open and its daily
-- grants for the local day are issued (credits_private._settle_daily).
-- Concurrent callers do each once: the account row lock serializes them.
-- While neither is due (the period runs, daily_until is ahead) this is the
-- account read and two comparisons.

create or replace function credits_private._settle_account(account_id text, at timestamptz,
                                                           trusted boolean default false)
returns credits_private.accounts
language plpgsql
as $$
declare
  v_account credits_private.accounts := case when trusted then credits_private._account_for(account_id, true)
                                             else credits_private._account_to_act(account_id) end;
begin
  if v_account.period_end > at and v_account.daily_until > at then
    return v_account;
  end if;
  -- A subscriber awaiting the provider's renewal, nothing scheduled for the
  -- period's end: no period to open. Its callers share the account row (FOR
  -- SHARE: they do not wait for each other), so the renewal event, which
  -- locks it FOR NO KEY UPDATE, waits for their transactions, and they read
  -- the renewal once committed: no debit is counted in a period already
  -- replaced. What an event committed just before the lock scheduled is
  -- left to the next transaction: two sharers escalating could deadlock.
  if v_account.daily_until > at and credits_private._as_settled(v_account, at) is not distinct from v_account then
    select a.* into v_account
    from credits_private.accounts a
    where a.account_id = _settle_account.account_id
    for share;
    return v_account;
  end if;
  select a.* into v_account
  from credits_private.accounts a
  where a.account_id = _settle_account.account_id
  for no key update;
  if v_account.period_end <= at then
    v_account := credits_private._roll_period(v_account, at);
  end if;
  if v_account.daily_until is null or v_account.daily_until <= at then
    v_account := credits_private._settle_daily(v_account, at);
  end if;
  return v_account;
end
$$;
