-- credits.refund_transaction(transaction_id, reason, amount, account_id): gives back
-- credits a debit or capture charged, to the very grants that paid it (the
-- last drawn first); where such a grant has ended, to a new `refund` grant
-- of the same priority that never expires. amount defaults to all that is
-- still refundable; over all refunds never more than was charged. A
-- member's debit that its pool paid in part is refunded as one: the pool's
-- share first, back to the pool (a refund row of the pool naming the
-- member) and to the member's cap in the pool's current period, then the
-- member's own; refund_id is the member's refund row, or the pool's when
-- only the pool got something back. Admin. account_id (SPEC §4): the
-- transaction's account, so that on Citus the call runs on its node;
-- required there, optional here.
-- Errors: PT404 unknown transaction (or one of another account than
-- account_id); PT422 not a debit, a pool's share (refund the member's
-- transaction), bad amount, no reason; PT409 beyond what was charged.
--
--   select * from credits.refund_transaction(81, 'render failed', 2.5);

create or replace function credits.refund_transaction(transaction_id bigint, reason text,
                                                      amount numeric default null, account_id text default null)
returns table (refund_id bigint, available numeric)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_debit credits_private.ledger_entries;
  v_account credits_private.accounts;
  v_balance credits_private.balances;
  v_refundable numeric;
  v_amount numeric;
  v_pool credits_private.accounts;
  v_pool_entry credits_private.ledger_entries;
  v_pool_refundable numeric := 0;
  v_pool_take numeric := 0;
begin
  perform credits_private._require_reason(reason, format('refund transaction %s', transaction_id));
  if amount is not null then
    perform credits_private._check_amount(amount, 'amount');
  end if;
  select l.* into v_debit
  from credits_private.ledger_entries l
  where l.entry_id = transaction_id
    and (refund_transaction.account_id is null or l.account_id = refund_transaction.account_id);
  if not found then
    raise exception 'unknown transaction %', coalesce(transaction_id::text, 'null')
      using errcode = 'PT404', hint = 'Pass a transaction_id from deduct_credits or credits.ledger.';
  end if;
  if v_debit.kind not in ('debit', 'capture') then
    raise exception 'transaction % is a %, not a debit or capture', transaction_id, v_debit.kind
      using errcode = 'PT422', hint = 'Only debits and captures can be refunded; void a grant with void_grant.';
  end if;
  if v_debit.member_id is not null then
    raise exception 'transaction % is pool %''s share of a debit of member %', transaction_id, v_debit.account_id,
                    v_debit.member_id
      using errcode = 'PT422',
            detail = format('the member''s transaction is %s', (select m.entry_id
                                                                from credits_private.ledger_entries m
                                                                where m.account_id = v_debit.member_id
                                                                  and m.pool_id = v_debit.account_id
                                                                  and m.pool_entry_id = v_debit.entry_id)),
            hint = 'Refund the member''s transaction: its pool''s share goes back to the pool and the cap.';
  end if;
  v_account := credits_private._settle_account(v_debit.account_id, v_now);
  v_balance := credits_private._lock_balance(v_debit.account_id, v_debit.credit_type, v_now);
  if v_debit.pool_entry_id is not null then
    -- Lock order: the member, then its pool (db/README.md).
    v_pool := credits_private._settle_account(v_debit.pool_id, v_now, trusted => true);
    perform credits_private._lock_balance(v_debit.pool_id, v_debit.credit_type, v_now);
    select l.* into strict v_pool_entry
    from credits_private.ledger_entries l
    where l.account_id = v_debit.pool_id and l.entry_id = v_debit.pool_entry_id;
    select -v_pool_entry.amount - coalesce(sum(r.amount), 0) into v_pool_refundable
    from credits_private.ledger_entries r
    where r.account_id = v_pool_entry.account_id and r.refund_of = v_pool_entry.entry_id;
  end if;

  select -v_debit.amount - coalesce(sum(r.amount), 0) + v_pool_refundable into v_refundable
  from credits_private.ledger_entries r
  where r.account_id = v_debit.account_id and r.refund_of = v_debit.entry_id;
  v_amount := coalesce(amount, v_refundable);
  if v_amount <= 0 or v_amount > v_refundable then
    raise exception 'cannot refund % of transaction %: % was charged, % is still refundable',
                    v_amount, transaction_id, -v_debit.amount - coalesce(v_pool_entry.amount, 0), v_refundable
      using errcode = 'PT409', hint = 'Refunds never exceed what was charged.';
  end if;

  -- A debit its pool paid in part: the pool's share goes back first (it
  -- was drawn last), to the pool and the member's cap; then the member's.
  if v_pool_entry.entry_id is not null then
    v_pool_take := least(v_amount, v_pool_refundable);
    if v_pool_take > 0 then
      select r.refund_id, r.available into refund_id, available
      from credits_private._refund_entry(v_pool_entry, v_pool_take, reason, v_pool.period_start, v_now) r;
      perform credits_private._pool_count(v_debit.account_id, v_pool.account_id, v_debit.credit_type,
                                          v_pool.period_start,
                                          case when v_pool_entry.created_at >= v_pool.period_start
                                               then -v_pool_take else 0 end, null, null, null, v_now);
    end if;
  end if;
  if v_amount - v_pool_take > 0 then
    select r.refund_id, r.available into refund_id, available
    from credits_private._refund_entry(v_debit, v_amount - v_pool_take, reason, v_account.period_start, v_now) r;
  else
    available := credits_private._available(v_debit.account_id, v_debit.credit_type, v_now);
  end if;
  return next;
end
$$;

comment on function credits.refund_transaction(bigint, text, numeric, text) is
  'Refunds a debit or capture, never more than was charged, to the grants that paid it or to a new refund grant where they have ended; admin.';
revoke all on function credits.refund_transaction(bigint, text, numeric, text) from public;
grant execute on function credits.refund_transaction(bigint, text, numeric, text) to credits_admin;
