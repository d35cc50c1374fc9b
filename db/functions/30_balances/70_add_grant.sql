-- credits_private._add_grant(...): adds a lot of credits to an account: the
-- grant, its `grant` ledger row and the balance, under the balance lock.
-- With an idempotency key, a retry returns the first grant (replayed = true).

create or replace function credits_private._add_grant(account_id text, credit_type text, source text,
                                                      amount numeric, expires_at timestamptz, priority integer,
                                                      at timestamptz, period_start timestamptz,
                                                      idempotency_key text default null,
                                                      request_hash uuid default null,
                                                      payment_ref text default null,
                                                      reason text default null,
                                                      grant_period_start timestamptz default null,
                                                      local_day date default null,
                                                      out grant_id bigint, out available numeric,
                                                      out replayed boolean)
language plpgsql
as $$
declare
  v_balance credits_private.balances;
  v_entry credits_private.ledger_entries;
begin
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

  insert into credits_private.grants
    (account_id, credit_type, source, amount, remaining, priority, starts_at, expires_at,
     period_start, local_day, payment_ref, reason, created_at)
  values
    (account_id, credit_type, source, amount, amount,
     coalesce(priority, credits_private._default_priority(source)),
     at, expires_at, grant_period_start, local_day, payment_ref, reason, at)
  returning grants.grant_id into grant_id;

  update credits_private.balances b
  set balance = b.balance + amount,
      settle_at = least(b.settle_at, expires_at),
      period_granted = credits_private._period_counter(b.period_granted, b.period_start, _add_grant.period_start)
                       + amount,
      period_used = credits_private._period_counter(b.period_used, b.period_start, _add_grant.period_start),
      period_start = _add_grant.period_start,
      updated_at = at
  where b.account_id = _add_grant.account_id and b.credit_type = _add_grant.credit_type
  returning b.* into v_balance;

  available := credits_private._available(account_id, credit_type, at);

  perform credits_private._write_ledger(v_balance, 'grant', amount, at, available => available, grant_id => grant_id,
                                        idempotency_key => idempotency_key, request_hash => request_hash,
                                        reason => reason, metadata => jsonb_build_object('source', source));
  replayed := false;
end
$$;
