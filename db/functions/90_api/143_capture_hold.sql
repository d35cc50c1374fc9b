-- credits.capture_hold(hold_id, amount, metadata, account_id): charges a hold, like
-- deduct_credits: `amount` (default: all that is held) from the grants the
-- hold earmarked, even if they have ended meanwhile, and releases the rest.
-- Capturing twice with the same amount and metadata returns the first
-- result; with others it raises PT409. A hold that was released or has
-- lapsed cannot be captured: ok = false, reason hold_released or
-- hold_expired. Errors: PT404 unknown hold; PT409; PT422 amount <= 0 or
-- above what is held; 42501 for a user and its backend's hold (_hold).
-- account_id (SPEC §4): the hold's account, so that on Citus the call runs
-- on its node; required there, optional here (a hold of another account is
-- then PT404).
-- A member's hold that its pool holds in part (reserve_credits) charges
-- its own part first, then the pool's share (a capture row of the pool
-- naming the member; the capture row returned names it), and what is
-- charged of the share counts against the member's cap; charged is the
-- whole.
--
--   select * from credits.capture_hold(12, 3.5);

create or replace function credits.capture_hold(hold_id bigint, amount numeric default null,
                                                metadata jsonb default '{}', account_id text default null)
returns table (ok boolean, reason text, transaction_id bigint, charged numeric, available numeric,
               credit_type text)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_hold credits_private.holds := credits_private._hold(hold_id, account_id);
  -- The caller may act on the hold's account: _settle_account checks it (_hold leaves it to its caller).
  v_account credits_private.accounts := credits_private._settle_account(v_hold.account_id, v_now);
  v_balance credits_private.balances;
  v_entry credits_private.ledger_entries;
  v_charge numeric;
  v_share credits_private.holds;
  v_total numeric;
  v_pool_entry_id bigint;
begin
  metadata := credits_private._check_metadata(metadata);
  if amount is not null then
    v_charge := credits_private._check_amount(amount, 'amount');
  end if;
  -- Under the balance lock (which settles lapsed holds), the hold as it is
  -- now: what _hold checked (its account, maker, member) cannot change.
  v_balance := credits_private._lock_balance(v_hold.account_id, v_hold.credit_type, v_now);
  select h.* into v_hold
  from credits_private.holds h
  where h.account_id = v_hold.account_id and h.hold_id = capture_hold.hold_id;
  credit_type := v_hold.credit_type;
  if v_hold.pool_hold_id is not null then
    select h.* into strict v_share
    from credits_private.holds h
    where h.account_id = v_hold.pool_id and h.hold_id = v_hold.pool_hold_id;
  end if;
  v_total := v_hold.amount + coalesce(v_share.amount, 0);

  if v_hold.status = 'captured' then
    select l.* into v_entry
    from credits_private.ledger_entries l
    where l.account_id = v_hold.account_id and l.entry_id = v_hold.capture_entry_id;
    if coalesce(v_charge, v_total) <> v_hold.captured + coalesce(v_share.captured, 0)
       or coalesce(metadata, '{}') <> v_entry.metadata then
      raise exception 'hold % was captured with other arguments: % charged, now % asked',
                      hold_id, v_hold.captured + coalesce(v_share.captured, 0), coalesce(v_charge, v_total)
        using errcode = 'PT409', detail = format('captured by transaction %s', v_entry.entry_id),
              hint = 'A hold is captured once; retry only with the same amount and metadata.';
    end if;
    return query select true, null::text, v_entry.entry_id, -v_entry.amount + coalesce(v_share.captured, 0),
                        v_entry.available_after, v_hold.credit_type;
    return;
  end if;
  if v_hold.status <> 'held' then
    return query select false, case v_hold.status when 'released' then 'hold_released' else 'hold_expired' end,
                        null::bigint, 0.000000, v_balance.balance - v_balance.held, v_hold.credit_type;
    return;
  end if;
  if v_account.status <> 'active' then
    -- A capture is a debit: refused on a suspended or closed account; the
    -- hold stays until it is released or lapses.
    available := v_balance.balance - v_balance.held;
    perform credits_private._refuse(v_hold.account_id, v_hold.feature, v_hold.credit_type, 'account_inactive',
                                    coalesce(v_charge, v_total), available, null, v_now,
                                    jsonb_build_object('hold_id', v_hold.hold_id));
    return query select false, 'account_inactive'::text, null::bigint, 0.000000, available, v_hold.credit_type;
    return;
  end if;
  v_charge := coalesce(v_charge, v_total);
  if v_charge > v_total then
    raise exception 'cannot capture % from hold %, which holds %', v_charge, hold_id, v_total
      using errcode = 'PT422', hint = 'Capture at most what is held; reserve more up front next time.';
  end if;

  if v_hold.pool_hold_id is not null then
    -- A member's hold: its own part is charged first, the rest from its
    -- pool's share (member, then pool).
    v_pool_entry_id := (credits_private._pool_end_hold(v_hold, 'captured', v_charge - least(v_charge, v_hold.amount),
                                                       v_now, metadata)).entry_id;
    if v_pool_entry_id is null and v_charge > v_hold.amount then
      raise exception 'the pool''s share of hold % has lapsed before the hold', hold_id
        using errcode = 'PT500', hint = 'A broken invariant: the share lapses with the member''s hold.';
    end if;
  end if;
  transaction_id := credits_private._end_hold(v_hold, 'captured', least(v_charge, v_hold.amount), v_now, metadata,
                                              v_account.period_start, v_pool_entry_id);
  ok := true;
  charged := v_charge;
  -- What the capture row says is available (a retry returns the same).
  select l.available_after into available
  from credits_private.ledger_entries l
  where l.account_id = v_hold.account_id and l.entry_id = transaction_id;
  return next;
end
$$;

comment on function credits.capture_hold(bigint, numeric, jsonb, text) is
  'Charges a hold (all that is held by default, never more) from the grants it earmarked and releases the rest; again with the same arguments returns the first result.';
revoke all on function credits.capture_hold(bigint, numeric, jsonb, text) from public;
grant execute on function credits.capture_hold(bigint, numeric, jsonb, text) to credits_service, credits_user;
