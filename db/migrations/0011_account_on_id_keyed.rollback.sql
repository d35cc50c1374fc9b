-- Drops the signatures 0011 made room for; the function files of the version
-- before 0011 create the old ones again when `pgcredits migrate` of that
-- version runs.
set local role credits_owner;
drop function if exists credits.capture_hold(bigint, numeric, jsonb, text);
drop function if exists credits.release_hold(bigint, text);
drop function if exists credits.refund_transaction(bigint, text, numeric, text);
drop function if exists credits.void_grant(bigint, text, text);
drop function if exists credits_private._hold(bigint, text);
reset role;
