-- The per-account functions of credits, each delegated to the node holding
-- its account (30_delegate.sql). The catalog functions, the watchers and
-- the jobs run on the coordinator (60_jobs.sql); credits.now and
-- credits.schedule_jobs reach no table. 90_checks.sql fails the migration if
-- a public function with an account_id parameter is missing here.

select credits_private._citus_delegate('credits.open_account(text, text, boolean, text, jsonb)');
select credits_private._citus_delegate('credits.set_account_status(text, text, text)');
select credits_private._citus_delegate('credits.update_account(text, text, boolean)');
select credits_private._citus_delegate('credits.get_balance(text)');
select credits_private._citus_delegate('credits.balance_at(text, timestamptz)');
select credits_private._citus_delegate('credits.get_history(text, integer, bigint)');
select credits_private._citus_delegate('credits.get_or_create_active_period(text)');
select credits_private._citus_delegate('credits.grant_credits(text, numeric, text, text, timestamptz, integer, text, text, timestamptz)');
select credits_private._citus_delegate('credits.purchase_credits(text, numeric, text, text, timestamptz, numeric, text)',
                                       before => 'credits_private._citus_before_purchase_credits');
select credits_private._citus_delegate('credits.check_feature(text, text, jsonb)');
-- deduct_credits' draw: on a single node one statement, a data-modifying
-- CTE (the UPDATE of the grants) read by the INSERT of the ledger row. Citus
-- cannot route that to the shard: it runs the CTE as a subplan and the
-- INSERT ... SELECT through intermediate result files, about half of a
-- debit's time on a worker (perf). On Citus the same draw is a loop of
-- single-row UPDATEs, each a router statement on the account's shard, and
-- the ledger row an INSERT ... VALUES: the same rows, the same draws in
-- burn-down order, the same v_drawn check after it.
select credits_private._citus_delegate('credits.deduct_credits(text, text, jsonb, text, jsonb, numeric)',
  rewrites => jsonb_build_array(jsonb_build_array(
$from$  with plan as (
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
  returning entry_id, (select coalesce(sum(drawn.take), 0) from drawn) into v_entry_id, v_drawn;$from$,
$to$declare
    v_take record;
    v_draws jsonb := '[]';
  begin
    v_drawn := 0;
    for v_take in
      select d.draw_order, d.grant_id, d.take
      from credits_private._settled_draw_plan(account_id, v_quote.credit_type, v_own - v_debt) d
      order by d.draw_order
    loop
      update credits_private.grants g
      set remaining = g.remaining - v_take.take
      where g.account_id = deduct_credits.account_id and g.grant_id = v_take.grant_id;
      if found then
        v_draws := v_draws || jsonb_build_array(jsonb_build_object('grant_id', v_take.grant_id, 'amount', v_take.take));
        v_drawn := v_drawn + v_take.take;
      end if;
    end loop;
    insert into credits_private.ledger_entries
      (account_id, credit_type, kind, amount, balance_before, balance_after, available_after, feature, units,
       draws, debt, idempotency_key, request_hash, actor, metadata, created_at, pool_id, pool_entry_id)
    values (account_id, v_quote.credit_type, 'debit', -v_own, v_before, v_after, v_available, feature,
            coalesce(units, '{}'), v_draws, nullif(v_debt, 0), idempotency_key, v_hash, credits_private._actor(), metadata, v_now,
            v_pool_id, v_pool_entry_id)
    returning entry_id into v_entry_id;
  end;$to$)));
select credits_private._citus_delegate('credits.get_quotas(text)');
select credits_private._citus_delegate('credits.reserve_credits(text, text, jsonb, text, interval, numeric)');
select credits_private._citus_delegate('credits.capture_hold(bigint, numeric, jsonb, text)');
select credits_private._citus_delegate('credits.release_hold(bigint, text)');
select credits_private._citus_delegate('credits.refund_transaction(bigint, text, numeric, text)');
select credits_private._citus_delegate('credits.void_grant(bigint, text, text)');
select credits_private._citus_delegate('credits.set_grant_expiry(bigint, timestamptz, text, text)');
select credits_private._citus_delegate('credits.set_auto_top_up(text, text, numeric, numeric, numeric, interval, numeric, text)');
select credits_private._citus_delegate('credits.grant_subscriber_monthly_credits(text)');
select credits_private._citus_delegate('credits.apply_subscription_event(text, text, text, text, timestamptz, timestamptz)',
                                       before => 'credits_private._citus_before_apply_subscription_event');
select credits_private._citus_delegate('credits.reset_credits(text, text)');
