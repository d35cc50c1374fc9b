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
select credits_private._citus_delegate('credits.grant_credits(text, numeric, text, text, timestamptz, integer, text, text)');
select credits_private._citus_delegate('credits.purchase_credits(text, numeric, text, text, timestamptz)',
                                       before => 'credits_private._citus_before_purchase_credits');
select credits_private._citus_delegate('credits.check_feature(text, text, jsonb)');
-- deduct_credits' draw: Citus writes the ledger row of an INSERT whose
-- RETURNING reads a data-modifying CTE without that CTE ("relation drawn does
-- not exist"); the same sum is read from the row's own draws.
select credits_private._citus_delegate('credits.deduct_credits(text, text, jsonb, text, jsonb, numeric)',
  rewrites => jsonb_build_array(jsonb_build_array(
    'returning entry_id, (select coalesce(sum(drawn.take), 0) from drawn) into v_entry_id, v_drawn;',
    'returning entry_id, (select coalesce(sum((d.value ->> ''amount'')::numeric), 0) '
      'from jsonb_array_elements(ledger_entries.draws) d) into v_entry_id, v_drawn;')));
select credits_private._citus_delegate('credits.get_quotas(text)');
select credits_private._citus_delegate('credits.reserve_credits(text, text, jsonb, text, interval, numeric)');
select credits_private._citus_delegate('credits.capture_hold(bigint, numeric, jsonb, text)');
select credits_private._citus_delegate('credits.release_hold(bigint, text)');
select credits_private._citus_delegate('credits.refund_transaction(bigint, text, numeric, text)');
select credits_private._citus_delegate('credits.void_grant(bigint, text, text)');
select credits_private._citus_delegate('credits.grant_subscriber_monthly_credits(text)');
select credits_private._citus_delegate('credits.apply_subscription_event(text, text, text, text, timestamptz, timestamptz)',
                                       before => 'credits_private._citus_before_apply_subscription_event');
select credits_private._citus_delegate('credits.reset_credits(text, text)');
