-- credits.refund_transaction(transaction_id, reason, amount, account_id): gives back
-- credits a debit or capture charged, to the very grants that paid it (the
-- last drawn first); where such a grant has ended, to a new `refund` grant
-- of the same priority that never expires. amount defaults to all that is
-- still refundable; over all refunds never more than was charged. Admin.
-- account_id (SPEC §4): the transaction's account, so that on Citus the
-- call runs on its node; required there, optional here.
-- Errors: PT404 unknown transaction (or one of another account than
-- account_id); PT422 not a debit, bad amount, no reason; PT409 beyond what
-- was charged.
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
  v_left numeric;
  v_draw record;
  v_take numeric;
  v_target bigint;
  v_draws jsonb := '[]';
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
  v_account := credits_private._settle_account(v_debit.account_id, v_now);
  v_balance := credits_private._lock_balance(v_debit.account_id, v_debit.credit_type, v_now);

  select -v_debit.amount - coalesce(sum(r.amount), 0) into v_refundable
  from credits_private.ledger_entries r
  where r.account_id = v_debit.account_id and r.refund_of = v_debit.entry_id;
  v_amount := coalesce(amount, v_refundable);
  if v_amount <= 0 or v_amount > v_refundable then
    raise exception 'cannot refund % of transaction %: % was charged, % is still refundable',
                    v_amount, transaction_id, -v_debit.amount, v_refundable
      using errcode = 'PT409', hint = 'Refunds never exceed what was charged.';
  end if;

  -- What each paying grant may still get back, last drawn first.
  v_left := v_amount;
  for v_draw in
    select d.grant_id, d.amount - coalesce(back.amount, 0) as open_amount, g.priority,
           (g.voided_at is null and g.expired_at is null and (g.expires_at is null or g.expires_at > v_now))
             as live, g.expires_at
    from rows from (jsonb_to_recordset(v_debit.draws) as (grant_id bigint, amount numeric))
           with ordinality as d (grant_id, amount, n)
    join credits_private.grants g on g.account_id = v_debit.account_id and g.grant_id = d.grant_id
    left join lateral (
      select sum((x ->> 'amount')::numeric) as amount
      from credits_private.ledger_entries r, jsonb_array_elements(r.draws) x
      where r.account_id = v_debit.account_id and r.refund_of = v_debit.entry_id
        and (x ->> 'of_grant_id')::bigint = d.grant_id
    ) back on true
    order by d.n desc
  loop
    exit when v_left = 0;
    v_take := least(v_left, v_draw.open_amount);
    continue when v_take <= 0;
    if v_draw.live then
      update credits_private.grants g
      set remaining = g.remaining + v_take
      where g.account_id = v_debit.account_id and g.grant_id = v_draw.grant_id;
      v_target := v_draw.grant_id;
      update credits_private.balances b
      set settle_at = least(b.settle_at, v_draw.expires_at)
      where b.account_id = v_debit.account_id and b.credit_type = v_debit.credit_type;
    else
      insert into credits_private.grants
        (account_id, credit_type, source, amount, remaining, priority, starts_at, reason, created_at)
      values
        (v_debit.account_id, v_debit.credit_type, 'refund', v_take, v_take, v_draw.priority, v_now,
         format('refund of transaction %s (grant %s has ended)', transaction_id, v_draw.grant_id), v_now)
      returning grant_id into v_target;
    end if;
    v_draws := v_draws || jsonb_build_object('grant_id', v_target, 'of_grant_id', v_draw.grant_id,
                                             'amount', v_take);
    v_left := v_left - v_take;
  end loop;
  if v_left <> 0 then
    raise exception 'transaction % has draws that do not add up to its charge', transaction_id
      using errcode = 'PT500', hint = 'A broken invariant: check credits.reconciliation for this account.';
  end if;

  update credits_private.balances b
  set balance = b.balance + v_amount,
      period_used = case when b.period_start = v_account.period_start
                         then greatest(b.period_used - v_amount, 0) else b.period_used end,
      updated_at = v_now
  where b.account_id = v_debit.account_id and b.credit_type = v_debit.credit_type
  returning b.* into v_balance;

  available := credits_private._available(v_debit.account_id, v_debit.credit_type, v_now);
  refund_id := credits_private._write_ledger(v_balance, 'refund', v_amount, v_now, available => available,
                                             feature => v_debit.feature, refund_of => v_debit.entry_id,
                                             draws => v_draws, reason => reason);
  return next;
end
$$;

comment on function credits.refund_transaction(bigint, text, numeric, text) is
  'Refunds a debit or capture, never more than was charged, to the grants that paid it or to a new refund grant where they have ended; admin.';
revoke all on function credits.refund_transaction(bigint, text, numeric, text) from public;
grant execute on function credits.refund_transaction(bigint, text, numeric, text) to credits_admin;
