-- 06 billing depth: a future-dated grant, a grant's end moved, a purchase's
-- price becoming revenue and breakage, and an auto top-up whose payment
-- worker retries without charging twice.
set timezone = 'UTC';
set credits.now = '2027-03-10 09:00:00+00';
\set SHOW_CONTEXT never

select account_id, plan from credits.open_account('u_9');

-- A gift for April: in the ledger now, available from April 1st.
select * from credits.grant_credits('u_9', 20, 'promo', starts_at => '2027-04-01 00:00+00',
                                    expires_at => '2027-04-30 00:00+00');
select * from credits.grant_credits('u_9', 5, 'promo', starts_at => '2027-04-01 00:00+00',
                                    expires_at => '2027-03-31 00:00+00');
select credit_type, available, buckets from credits.get_balance('u_9');

-- A pack of 30 credits bought for 9.00 EUR, ending in two weeks; spend some of it.
select * from credits.purchase_credits('u_9', 30, 'stripe:pi_9a', expires_at => '2027-03-24 00:00+00',
                                       price => 9.00, currency => 'EUR');
select ok, charged, available from credits.deduct_credits('u_9', 'video_render', '{"seconds": 20}');
select * from credits.revenue;

-- Support gives the pack a week more (admin), then the customer leaves it unspent.
set role credits_admin;
select * from credits.set_grant_expiry(3, '2027-03-31 00:00+00', 'support: a week more');
reset role;
set credits.now = '2027-04-02 09:00:00+00';
select * from credits.expire_grants();
select * from credits.breakage;
select credit_type, available, buckets from credits.get_balance('u_9');

-- Auto top-up: below 10 credits, ask the payment worker for 50 credits at 12.00 EUR.
select threshold, credits, price, currency, cooldown
from credits.set_auto_top_up('u_9', 'credits', threshold => 10, credits => 50, price => 12.00,
                             cooldown => '1 hour', monthly_limit => 200, currency => 'EUR');
select ok, charged, available from credits.deduct_credits('u_9', 'video_render', '{"seconds": 24}');
select ok, charged, available from credits.deduct_credits('u_9', 'roast');
select request_id, credits, price, status, transaction_id from credits.top_up_requests;
select kind, payload ->> 'request_id' as request_id, payload ->> 'available' as available
from credits.events where kind = 'top_up_requested';
-- The worker charges the card and credits the request; its retry credits nothing twice.
select * from credits.purchase_credits('u_9', 50, 'top_up_1');
select * from credits.purchase_credits('u_9', 50, 'top_up_1');
select request_id, status, grant_id from credits.top_up_requests;

select transaction_id, kind, amount, balance_after, reason from credits.ledger where account_id = 'u_9' order by transaction_id;
select * from credits.reconciliation;
