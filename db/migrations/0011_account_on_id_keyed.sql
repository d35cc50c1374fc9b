-- SPEC §4 (issue 16): the functions keyed by an id take an optional
-- account_id as their last parameter, so that on Citus they too run on the
-- node holding the account (required there, optional on a single node, where
-- a call without it behaves as before). A trailing parameter changes the
-- signature: the old ones go, the function files create the new ones.

set local role credits_owner;
drop function if exists credits.capture_hold(bigint, numeric, jsonb);
drop function if exists credits.release_hold(bigint);
drop function if exists credits.refund_transaction(bigint, text, numeric);
drop function if exists credits.void_grant(bigint, text);
drop function if exists credits_private._hold(bigint);
reset role;
