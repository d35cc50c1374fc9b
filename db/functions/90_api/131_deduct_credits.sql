-- credits.deduct_credits(account_id, feature, units, idempotency_key,
-- metadata, amount): charges a feature inside the caller's transaction
-- (it never commits: the debit and the app's own write commit together).
-- ok = false with reason account_inactive, feature_not_in_plan,
-- period_limit_reached or insufficient_credits refuses, records a
-- feature_gated event and stores nothing under the key, so a retry after a
-- top-up can succeed. Unlimited plans: ok, charged 0, usage recorded. Demo
-- accounts: ok, charged 0, nothing recorded. With idempotency_key a retry
-- returns the first result and changes nothing; other arguments raise PT409.
-- Errors: PT404 account or feature; PT422 units or amount; 42501.
--
-- Hot path, one statement each: read the quote; take the balance row lock
-- with a conditional UPDATE that is also the overdraft check; draw from the
-- grants and write the ledger row in one statement. No subtransaction.
-- A member of a pool (docs/contract.md, Teams) whose own grants fall short
-- takes the rest from the pool (credits_private._pool_charge), within its
-- cap: its own grants pay what they can (the ledger row names the pool's
-- row, pool_id and pool_entry_id), and charged is the whole cost. An
-- account in no pool pays for this only on that slow path: one index
-- probe of pool_members before it is refused.
-- Overdraft (docs/contract.md, Billing depth): a debit the grants cannot
-- pay may take the balance below zero, down to the plan's limit
-- (credits_private._overdraft, read only on that slow path): the grants
-- pay what is free in them, the rest becomes the balance's debt
-- (balances.debt, the ledger row's debt), which the next grant repays
-- first. Past the limit it is refused as insufficient_credits.
--
--   select * from credits.deduct_credits('u_42', 'chat', '{"input_tokens": 1200}', idempotency_key => 'req-81');

create or replace function credits.deduct_credits(account_id text, feature text, units jsonb default '{}',
                                                  idempotency_key text default null,
                                                  metadata jsonb default '{}', amount numeric default null)
returns table (ok boolean, reason text, transaction_id bigint, charged numeric, available numeric,
               credit_type text)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_quote record := credits_private._prepare_spend(credits_private._settle_account(account_id, v_now), feature,
                                                   units, amount, v_now);
  v_hash uuid;
  v_first credits_private.ledger_entries;
  v_balance credits_private.balances;
  v_before numeric;
  v_after numeric;
  v_available numeric;
  v_entry_id bigint;
  v_drawn numeric;
  v_counted boolean := false;
  v_refusal text := v_quote.reason;
  -- The balance's auto top-up threshold (null: none; set_auto_top_up).
  v_top_up_below numeric;
  -- What the account's own grants pay: the cost, or what they have when a
  -- pool pays the rest.
  v_own numeric := v_quote.cost;
  v_pool_id text;
  v_pool_entry_id bigint;
  v_limited_by text;
  -- What the balance less held must be for the UPDATE to take the debit:
  -- the cost, or less under the slow path's lock (overdraft, a member in
  -- debt whose pool pays); and the part of v_own no grant pays (debt).
  v_need numeric := v_quote.cost;
  v_debt numeric := 0;
  v_limit numeric;
begin
  perform credits_private._check_metadata(metadata);
  if v_quote.is_demo then
    v_available := credits_private._available(account_id, v_quote.credit_type, v_now);
    return query select v_refusal is null, v_refusal, null::bigint, 0.000000, v_available, v_quote.credit_type;
    return;
  end if;

  -- Locks are taken in one order everywhere: the account row (opening a
  -- period), the balance row, the period counter, the grants. A retry with
  -- a key, and a feature with a period limit, take the balance row first.
  if idempotency_key is not null or (v_refusal is null and v_quote.period_limit is not null) then
    perform credits_private._lock_balance(account_id, v_quote.credit_type, v_now);
  end if;

  if idempotency_key is not null then
    v_hash := credits_private._request_hash(jsonb_build_array(
      'deduct_credits', feature, coalesce(units, '{}'), metadata, amount));
    v_first := credits_private._idempotent_replay(account_id, idempotency_key, v_hash);
    if v_first.entry_id is not null then
      return query select true, null::text, v_first.entry_id,
                          -v_first.amount + coalesce((select -p.amount
                                                      from credits_private.ledger_entries p
                                                      where p.account_id = v_first.pool_id
                                                        and p.entry_id = v_first.pool_entry_id), 0),
                          v_first.available_after, v_first.credit_type;
      return;
    end if;
  end if;

  -- A feature with a period limit: count the use under the balance lock,
  -- so the limit cannot be overrun.
  if v_refusal is null and v_quote.period_limit is not null then
    v_counted := credits_private._count_use(account_id, v_quote.period_start, feature, v_quote.period_limit);
    if not v_counted then
      v_refusal := 'period_limit_reached';
    end if;
  end if;

  if v_refusal is null then
    for v_try in 1..3 loop
      update credits_private.balances b
      -- Period counters never move back: a debit whose transaction began
      -- before a renewal committed counts in the period it saw only while
      -- that is still the balance's period. (Everywhere else:
      -- credits_private._period_counter.)
      set balance = b.balance - v_own,
          debt = b.debt + v_debt,
          period_used = case when b.period_start = v_quote.period_start then b.period_used + v_own
                             when b.period_start > v_quote.period_start then b.period_used
                             else v_own end,
          period_granted = case when b.period_start >= v_quote.period_start then b.period_granted else 0 end,
          period_start = greatest(b.period_start, v_quote.period_start),
          updated_at = v_now
      where b.account_id = deduct_credits.account_id
        and b.credit_type = v_quote.credit_type
        and b.balance - b.held >= v_need
        and (b.settle_at is null or b.settle_at > v_now)
      returning b.balance + v_own, b.balance, b.balance - b.held, b.top_up_below
      into v_before, v_after, v_available, v_top_up_below;
      exit when found;
      -- Slow path: no balance row yet, time to settle, or not enough.
      v_balance := credits_private._lock_balance(account_id, v_quote.credit_type, v_now);
      v_top_up_below := v_balance.top_up_below;
      if v_balance.balance - v_balance.held < v_own then
        -- Not enough of its own: a member of a pool takes the rest from the
        -- pool, under this lock (member, then pool); its own grants pay what
        -- they have, by the UPDATE above on the next turn.
        exit when v_pool_entry_id is not null;  -- short again once the pool paid: PT500 below
        -- Overdraft: down to the plan's limit, the grants paying what is
        -- free in them (balance + debt - held) and the rest debt. (A cost
        -- of 0 is never refused, not even in debt.)
        v_limit := case when v_own > 0 then credits_private._overdraft(account_id, v_quote.credit_type) else 0 end;
        if v_own = 0 or (v_limit > 0 and v_balance.balance - v_balance.held + v_limit >= v_own) then
          v_debt := v_own - least(v_own, v_balance.balance + v_balance.debt - v_balance.held);
          v_need := v_balance.balance - v_balance.held;
          continue;
        end if;
        v_own := greatest(v_balance.balance - v_balance.held, 0);
        v_need := least(v_own, v_balance.balance - v_balance.held);
        select p.pool_id, p.entry_id, p.limited_by into v_pool_id, v_pool_entry_id, v_limited_by
        from credits_private._pool_charge(account_id, v_quote.credit_type, v_quote.cost - v_own, v_now,
                                          feature, coalesce(units, '{}'), metadata) p;
        if v_pool_entry_id is null then
          v_refusal := 'insufficient_credits';
          v_available := v_balance.balance - v_balance.held;
          exit;
        end if;
      end if;
    end loop;
    if v_before is null and v_refusal is null then
      raise exception 'balance of account % (%) could not be settled', account_id, v_quote.credit_type
        using errcode = 'PT500', hint = 'A broken invariant: check credits.reconciliation for this account.';
    end if;
  end if;

  if v_refusal is not null then
    v_available := coalesce(v_available, credits_private._available(account_id, v_quote.credit_type, v_now));
    perform credits_private._refuse(account_id, feature, v_quote.credit_type, v_refusal, v_quote.cost, v_available,
                                    case when v_counted then v_quote.period_start end, v_now,
                                    case when v_pool_id is not null
                                         then jsonb_build_object('pool_id', v_pool_id, 'limited_by', v_limited_by)
                                         else '{}' end);
    -- Auto top-up (issue 15): a balance too low to pay may request one.
    if v_top_up_below > v_available then
      perform credits_private._request_top_up(account_id, v_quote.credit_type, v_quote.period_start, v_available,
                                              null, v_now);
    end if;
    return query select false, v_refusal, null::bigint, 0.000000, v_available, v_quote.credit_type;
    return;
  end if;

  -- The draw and its ledger row in one statement (the other writer of
  -- ledger rows is credits_private._write_ledger).
  -- (Its twin for other debits: credits_private._draw.) The grants pay
  -- v_own less the debt it takes. The UPDATE above matched the balance
  -- row with nothing to settle, so the draw reads the grants alone
  -- (credits_private._settled_draw_plan).
  with plan as (
    select d.draw_order, d.grant_id, d.take
    from credits_private._settled_draw_plan(account_id, v_quote.credit_type, v_own - v_debt) d
  ), drawn as (
    update credits_private.grants g
    set remaining = g.remaining - plan.take
    from plan
    where g.account_id = deduct_credits.account_id and g.grant_id = plan.grant_id
    returning plan.draw_order, g.grant_id, plan.take
  )
  insert into credits_private.ledger_entries
    (account_id, credit_type, kind, amount, balance_before, balance_after, available_after, feature, units,
     draws, debt, idempotency_key, request_hash, actor, metadata, created_at, pool_id, pool_entry_id)
  select account_id, v_quote.credit_type, 'debit', -v_own, v_before, v_after, v_available, feature,
         coalesce(units, '{}'),
         coalesce((select jsonb_agg(jsonb_build_object('grant_id', drawn.grant_id, 'amount', drawn.take)
                                    order by drawn.draw_order) from drawn), '[]'::jsonb),
         nullif(v_debt, 0), idempotency_key, v_hash, credits_private._actor(), metadata, v_now, v_pool_id, v_pool_entry_id
  returning entry_id, (select coalesce(sum(drawn.take), 0) from drawn) into v_entry_id, v_drawn;
  if v_drawn <> v_own - v_debt then
    -- The balance row and the grants behind it disagree: refuse to write a
    -- ledger row that would not reconcile.
    raise exception 'account % (%) could not draw % from its grants, only %', account_id, v_quote.credit_type,
                    v_own - v_debt, v_drawn
      using errcode = 'PT500', hint = 'A broken invariant: check credits.reconciliation for this account.';
  end if;

  -- Auto top-up (issue 15): a debit that leaves the balance below its
  -- threshold may request one (credits_private._request_top_up decides).
  if v_top_up_below > v_available then
    perform credits_private._request_top_up(account_id, v_quote.credit_type, v_quote.period_start, v_available,
                                            v_entry_id, v_now);
  end if;

  ok := true;
  transaction_id := v_entry_id;
  charged := v_quote.cost;
  available := v_available;
  credit_type := v_quote.credit_type;
  return next;
end
$$;

comment on function credits.deduct_credits(text, text, jsonb, text, jsonb, numeric) is
  'Charges a feature in the caller''s transaction, idempotent on idempotency_key, or refuses with ok = false and a reason (recorded as a feature_gated event).';
revoke all on function credits.deduct_credits(text, text, jsonb, text, jsonb, numeric) from public;
grant execute on function credits.deduct_credits(text, text, jsonb, text, jsonb, numeric)
  to credits_service, credits_user;
