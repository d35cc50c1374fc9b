-- credits_private._add_grant(...): adds a lot of credits to an account: the
-- grant, its `grant` ledger row and the balance, under the balance lock.
-- With an idempotency key, a retry returns the first grant (replayed = true).
-- A starts_at later than `at` makes a future-dated grant: in the balance
-- and the ledger now, but all of it held for its start (grants.not_before,
-- migration 0013) until `at` reaches starts_at; expires_at must be later.
-- price and currency: a purchase's cost basis (purchase_credits).
-- It is not counted in the period's granted credits (the base of the
-- threshold events). The ledger row's metadata names its starts_at.
-- Overdraft (migration 0015): a grant in force at once repays the
-- balance's debt first: its remaining starts at amount less what it
-- repaid (the grant's amount stays what was granted), and its ledger row's
-- debt says so (-repaid). A future-dated grant repays nothing: its
-- credits are not the account's until it starts.

create or replace function credits_private._add_grant(account_id text, credit_type text, source text,
                                                      amount numeric, expires_at timestamptz, priority integer,
                                                      at timestamptz, period_start timestamptz,
                                                      idempotency_key text default null,
                                                      request_hash uuid default null,
                                                      payment_ref text default null,
                                                      reason text default null,
                                                      grant_period_start timestamptz default null,
                                                      local_day date default null,
                                                      starts_at timestamptz default null,
                                                      price numeric default null, currency text default null,
                                                      out grant_id bigint, out available numeric,
                                                      out replayed boolean)
language plpgsql
as $$
declare
  v_balance credits_private.balances;
  v_entry credits_private.ledger_entries;
  -- A future-dated grant's start; null for a grant in force at once.
  v_not_before timestamptz := case when _add_grant.starts_at > at then _add_grant.starts_at end;
  v_repaid numeric;
begin
  if v_not_before is not null and expires_at <= v_not_before then
    raise exception 'expires_at % is not after starts_at %', expires_at, v_not_before
      using errcode = 'PT422', detail = 'A future-dated grant cannot end before it starts.',
            hint = 'Pass an expires_at later than starts_at, or null for credits that never expire.';
  end if;
  if expires_at is not null and expires_at <= at then
    raise exception 'expires_at % is not in the future', expires_at
      using errcode = 'PT422', hint = 'Pass a later expires_at, or null for credits that never expire.';
  end if;

  perform credits_private._check_reason(reason);
  v_balance := credits_private._lock_balance(account_id, credit_type, at);

  if idempotency_key is not null then
    v_entry := credits_private._idempotent_replay(account_id, idempotency_key, request_hash);
    if v_entry.entry_id is not null then
      grant_id := v_entry.grant_id;
      available := v_entry.available_after;
      replayed := true;
      return;
    end if;
  end if;

  v_repaid := case when v_not_before is null then least(amount, v_balance.debt) else 0 end;
  insert into credits_private.grants
    (account_id, credit_type, source, amount, remaining, held, priority, starts_at, not_before, expires_at,
     period_start, local_day, payment_ref, price, currency, reason, created_at)
  values
    (account_id, credit_type, source, amount, amount - v_repaid, case when v_not_before is null then 0 else amount end,
     coalesce(priority, credits_private._default_priority(source)),
     coalesce(v_not_before, at), v_not_before, expires_at, grant_period_start, local_day, payment_ref, price,
     currency, reason, at)
  returning grants.grant_id into grant_id;

  update credits_private.balances b
  set balance = b.balance + amount,
      debt = b.debt - v_repaid,
      held = b.held + case when v_not_before is null then 0 else amount end,
      settle_at = least(b.settle_at, expires_at, v_not_before),
      period_granted = credits_private._period_counter(b.period_granted, b.period_start, _add_grant.period_start)
                       + case when v_not_before is null then amount else 0 end,
      period_used = credits_private._period_counter(b.period_used, b.period_start, _add_grant.period_start),
      period_start = _add_grant.period_start,
      updated_at = at
  where b.account_id = _add_grant.account_id and b.credit_type = _add_grant.credit_type
  returning b.* into v_balance;

  available := credits_private._available(account_id, credit_type, at);

  perform credits_private._write_ledger(v_balance, 'grant', amount, at, available => available, grant_id => grant_id,
                                        idempotency_key => idempotency_key, request_hash => request_hash,
                                        reason => reason, debt => -nullif(v_repaid, 0), metadata => jsonb_strip_nulls(jsonb_build_object(
                                          'source', source, 'starts_at', v_not_before)));
  replayed := false;
end
$$;
