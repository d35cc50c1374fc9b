-- 02 holds: reserve credits for work that may fail, then capture what it
-- really cost (the rest goes back), release it, or let it lapse.
set timezone = 'UTC';
set credits.now = '2027-01-05 09:00:00+00';
\set SHOW_CONTEXT never

select account_id, plan from credits.open_account('studio', 'pro');
select credit_type, available, held from credits.get_balance('studio');

-- A two-minute render may cost up to 60 credits: hold them.
select ok, reason, hold_id, held, expires_at from credits.reserve_credits('studio', 'video_render', '{"seconds": 120}');
select credit_type, available, held from credits.get_balance('studio');

-- The render took 90 seconds: capture 45, the other 15 are released.
select ok, reason, transaction_id, charged, available from credits.capture_hold(1, 45);
-- Capturing twice returns the first result.
select ok, reason, transaction_id, charged, available from credits.capture_hold(1, 45);

-- A render that failed: release its hold, and nothing is charged.
select ok, hold_id, held from credits.reserve_credits('studio', 'video_render', '{"seconds": 60}');
select * from credits.release_hold(2);
select * from credits.release_hold(2);

-- More than is held cannot be captured.
select ok, hold_id, held from credits.reserve_credits('studio', 'roast');
select ok, charged from credits.capture_hold(3, 5);

-- A hold nobody captures lapses after its ttl: it blocks nothing any more, and the sweep releases it.
set credits.now = '2027-01-05 09:20:00+00';
select credit_type, available, held from credits.get_balance('studio');
select * from credits.expire_holds();

select hold_id, feature, amount, status from credits.holds where account_id = 'studio' order by hold_id;
select transaction_id, kind, amount, balance_after, feature from credits.get_history('studio');
