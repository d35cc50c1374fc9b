-- Undoes 0013. The function files of the version rolled back to create
-- grant_credits and purchase_credits with their old signatures again; the
-- new ones, and the functions and views that read the new columns, go here.
set local role credits_owner;
drop function if exists credits.grant_credits(text, numeric, text, text, timestamptz, integer, text, text,
                                              timestamptz);
drop function if exists credits.purchase_credits(text, numeric, text, text, timestamptz, numeric, text);
drop function if exists credits.set_grant_expiry(bigint, timestamptz, text, text);
drop function if exists credits.set_auto_top_up(text, text, numeric, numeric, numeric, interval, numeric, text);
drop function if exists credits.fail_top_up(text, text);
drop function if exists credits_private._request_top_up(text, text, timestamptz, numeric, bigint, timestamptz);
drop function if exists credits_private._end_top_up(credits_private.top_up_requests, text, bigint, text, timestamptz);
drop function if exists credits_private._check_price(numeric, text);
drop function if exists credits_private._top_up_request(text, text);
drop view if exists credits.revenue, credits.breakage, credits.top_up_requests, credits.auto_top_ups;
drop view if exists credits_private.paid_grant_moves;
drop table credits_private.top_up_requests, credits_private.auto_top_ups;
drop sequence credits_private.top_up_request_ids;
drop domain credits_private.top_up_status;
do $$
begin
  alter domain credits_private.event_kind drop constraint event_kind_check;
  alter domain credits_private.event_kind add constraint event_kinds
    check (value in ('balance_changed', 'threshold_crossed', 'depleted', 'recovered', 'feature_gated',
                     'plan_changed', 'member_cap_reached'));
  alter domain credits_private.ledger_kind drop constraint ledger_kind_check;
  alter domain credits_private.ledger_kind add constraint ledger_kind_check
    check (value in ('grant', 'debit', 'expiry', 'void', 'refund', 'capture', 'adjustment'));
end
$$;
alter table credits_private.balances drop column top_up_below cascade;
alter table credits_private.grants drop column not_before cascade, drop column price cascade,
  drop column currency cascade;
reset role;
