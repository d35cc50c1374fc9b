-- 04 corrections and audit: refunds, voids, admin grants, and the views a
-- DBA reads (ledger, usage, top consumers, reconciliation).
set timezone = 'UTC';
set credits.now = '2027-01-05 09:00:00+00';
\set SHOW_CONTEXT never

select account_id, plan from credits.open_account('u_7', 'pro');
select ok, transaction_id, charged, available from credits.deduct_credits('u_7', 'video_render', '{"seconds": 40}');

-- The render failed on our side: refund half of it, then the rest; never more than was charged.
select * from credits.refund_transaction(2, 'render failed at 50 %', amount => 10);
select * from credits.refund_transaction(2, 'render failed: the rest');
select * from credits.refund_transaction(2, 'once more');

-- An admin grant needs a reason; a promo grant may expire.
select * from credits.grant_credits('u_7', 25, 'admin');
select * from credits.grant_credits('u_7', 25, 'admin', reason => 'support ticket 981');
select * from credits.grant_credits('u_7', 10, 'promo', expires_at => '2027-01-12 00:00+00', idempotency_key => 'promo-jan');
-- The same key with other arguments is a conflict.
select * from credits.grant_credits('u_7', 20, 'promo', expires_at => '2027-01-12 00:00+00', idempotency_key => 'promo-jan');

-- Void the support grant (given by mistake).
select * from credits.void_grant(2, 'granted to the wrong account');
select credit_type, available, buckets from credits.get_balance('u_7');

select transaction_id, kind, amount, balance_after, reason, actor from credits.ledger where account_id = 'u_7' order by transaction_id;
select * from credits.usage_daily order by day, feature;
select * from credits.top_consumers;
select * from credits.reconciliation;
