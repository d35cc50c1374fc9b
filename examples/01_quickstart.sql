-- 01 quickstart: open an account, spend, run out, buy, spend again, read the history.
-- The example catalog: free has 6 credits at signup; chat is priced per token,
-- video_render 0.5 credits a second. The clock is fixed (credits.now), so this
-- output is the same on every run against a fresh database (examples/README.md).
set timezone = 'UTC';
set credits.now = '2027-01-05 09:00:00+00';

select account_id, plan, period_start, period_end from credits.open_account('u_42');

-- What would a chat message of 1,200 input and 300 output tokens cost? (no side effects)
select allowed, reason, cost, available from credits.check_feature('u_42', 'chat', '{"input_tokens": 1200, "output_tokens": 300}');

select ok, reason, transaction_id, charged, available
from credits.deduct_credits('u_42', 'chat', '{"input_tokens": 1200, "output_tokens": 300}');

-- An idempotency key: the retry returns the first result and charges nothing.
select ok, reason, transaction_id, charged, available
from credits.deduct_credits('u_42', 'video_render', '{"seconds": 8}', idempotency_key => 'render-1');
select ok, reason, transaction_id, charged, available
from credits.deduct_credits('u_42', 'video_render', '{"seconds": 8}', idempotency_key => 'render-1');

-- Not enough credits: refused, and nothing is stored under the key.
select ok, reason, transaction_id, charged, available
from credits.deduct_credits('u_42', 'video_render', '{"seconds": 8}', idempotency_key => 'render-2');

select * from credits.purchase_credits('u_42', 50, 'stripe:pi_3NkXb2');

-- The same key now succeeds; the debit draws the signup credits first, the purchased ones last.
select ok, reason, transaction_id, charged, available
from credits.deduct_credits('u_42', 'video_render', '{"seconds": 8}', idempotency_key => 'render-2');

select transaction_id, kind, amount, balance_after, feature, draws from credits.get_history('u_42');
select credit_type, available, used_this_period, buckets from credits.get_balance('u_42');

-- free allows 3 video renders a period: the fourth is refused, whatever the balance.
select ok, reason, charged from credits.deduct_credits('u_42', 'video_render', '{"seconds": 2}');
select ok, reason, charged from credits.deduct_credits('u_42', 'video_render', '{"seconds": 2}');
