-- Undoes 0012: no pools. The views and functions that read the new columns
-- or return the new shapes are dropped: the function files of the version
-- rolled back to create them again as they were.
-- The outbox's member_cap_reached rows go first, as the migrating role
-- (the owner's own policies let only trusted callers delete events), so
-- that the shorter list of kinds holds again.
delete from credits_private.events where kind = 'member_cap_reached';

set local role credits_owner;

drop view if exists credits.ledger cascade;
drop view if exists credits.holds cascade;
drop function if exists credits.get_balance(text);
drop function if exists credits.reset_credits(text, text);
drop function if exists credits_private._quote(credits_private.accounts, text, jsonb, timestamptz);
drop function if exists credits_private._write_ledger(credits_private.balances, text, numeric, timestamptz,
  numeric, bigint, text, jsonb, jsonb, bigint, text, uuid, text, jsonb, text, text, bigint);
drop function if exists credits_private._settle_account(text, timestamptz, boolean);
drop function if exists credits_private._end_hold(credits_private.holds, text, numeric, timestamptz, jsonb,
                                                  timestamptz, bigint);
drop function if exists credits.add_pool_member(text, text, jsonb);
drop function if exists credits.set_member_caps(text, text, jsonb);
drop function if exists credits.remove_pool_member(text, text);
drop function if exists credits.get_pool(text);
-- The helpers of the pools (and of the statements they share) that the
-- function files of the version rolled back to do not have.
drop function if exists credits_private._pool_end_hold(credits_private.holds, text, numeric, timestamptz, jsonb);
drop function if exists credits_private._pool_hold(text, text, numeric, timestamptz, text, jsonb, timestamptz, text);
drop function if exists credits_private._pool_membership(text, text);
drop function if exists credits_private._pool_charge(text, text, numeric, timestamptz, text, jsonb, jsonb);
drop function if exists credits_private._pool_count(text, text, text, timestamptz, numeric, numeric, numeric, numeric,
                                                    timestamptz);
drop function if exists credits_private._pool_lock(text, text, numeric, timestamptz);
drop function if exists credits_private._pool_slice(text, text, timestamptz);
drop function if exists credits_private._pool_cap_used(text, text, text, timestamptz, timestamptz);
drop function if exists credits_private._check_caps(jsonb);
drop function if exists credits_private._refund_entry(credits_private.ledger_entries, numeric, text, timestamptz,
                                                      timestamptz);
drop function if exists credits_private._earmark(text, text, numeric, timestamptz);
drop function if exists credits_private._draw(text, text, numeric, timestamptz);
drop view if exists credits.pool_members;

do $$
declare
  t text;
  v_reach text := $r$((select credits_private._caller_sees_all())
                      or account_id = (select credits_private._caller_own_account()))$r$;
  v_write text := $r$((select credits_private._caller_writes_all())
                      or account_id = (select credits_private._caller_own_account()))$r$;
begin
  foreach t in array array['accounts', 'periods', 'period_usage', 'balances', 'grants', 'ledger_entries',
                           'events', 'holds', 'subscriptions', 'subscription_events'] loop
    execute format('alter policy "callers see their own account, trusted roles every account" on credits_private.%I using %s',
                   t, v_reach);
    execute format('alter policy "callers add rows to their own account, trusted roles to any" on credits_private.%I with check %s',
                   t, v_write);
    if t not in ('ledger_entries', 'events', 'subscription_events') then
      execute format('alter policy "callers change their own account, trusted roles any" on credits_private.%I using %s with check %s',
                     t, v_write, v_write);
    end if;
  end loop;
end
$$;



drop index credits_private.holds_open_by_member;
alter table credits_private.holds drop column member_id, drop column pool_id, drop column pool_hold_id;
alter table credits_private.ledger_entries drop column member_id, drop column pool_id, drop column pool_entry_id;
drop table credits_private.pool_usage;
drop table credits_private.pool_members;
drop table credits_private.pools;
drop function credits_private._reaches_pool(text);
drop function credits_private._caller_pool();
drop function credits_private._caller_pool_admin();

-- Added before the longer list goes, and last (0012 says why).
alter domain credits_private.event_kind add constraint event_kind_check
  check (value in ('balance_changed', 'threshold_crossed', 'depleted', 'recovered', 'feature_gated',
                   'plan_changed'));
alter domain credits_private.event_kind drop constraint event_kinds;

reset role;
