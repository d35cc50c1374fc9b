-- 08 overdraft: a plan whose debits may take the balance 50 below zero;
-- the grants pay what they have, the rest is debt, the next grant repays
-- it first (docs/contract.md, Overdraft).
set timezone = 'UTC';
set credits.now = '2027-05-03 09:00:00+00';
\set SHOW_CONTEXT never

set role credits_admin;
select code, signup_grant, overdraft
from credits.upsert_plan('pay_later', signup_grant => '{"credits": 10}', overdraft => '{"credits": 50}');
select plan, feature from credits.set_plan_feature('pay_later', 'roast');
select * from credits.upsert_plan('pay_later', overdraft => '{"credits": -5}');
reset role;

-- 10 credits; a debit of 30 takes them and goes 20 into debt.
select account_id, plan from credits.open_account('u_8', 'pay_later');
select allowed, cost, available, draws from credits.check_feature('u_8', 'roast');
select ok, charged, available from credits.deduct_credits('u_8', 'roast', amount => 30);
select credit_type, available, buckets from credits.get_balance('u_8');

-- 30 more: exactly to the limit, -50; then nothing more.
select ok, reason, available from credits.deduct_credits('u_8', 'roast', amount => 30);
select ok, reason, available from credits.deduct_credits('u_8', 'roast', amount => 25);

-- A purchase of 100 repays the 50 owed first: 50 are left in it.
select * from credits.purchase_credits('u_8', 100, 'stripe:pi_8a');
select kind, amount, balance_after, debt, draws from credits.ledger where account_id = 'u_8' order by transaction_id;
select kind, payload ->> 'available' as available from credits.events
where account_id = 'u_8' and kind in ('depleted', 'recovered') order by event_id;
select * from credits.reconciliation where account_id = 'u_8';
