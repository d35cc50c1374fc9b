-- Issue 12 (db/README.md): the helpers were regrouped, and one changed its
-- signature. credits_private._account(account_id, writing) is now
-- _account_to_read(account_id) and _account_to_act(account_id), which the
-- function files create; the old one goes, so nothing can call it.

set local role credits_owner;
drop function if exists credits_private._account(text, boolean);
reset role;
