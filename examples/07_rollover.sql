-- 07 rollover: a plan that carries half of its unused monthly allowance,
-- at most 100, into the next period, as a grant that ends with it
-- (docs/contract.md, Rollover).
set timezone = 'UTC';
set credits.now = '2027-05-03 09:00:00+00';
\set SHOW_CONTEXT never

set role credits_admin;
select code, monthly_allowance, rollover
from credits.upsert_plan('pro_roll', monthly_allowance => '{"credits": 500}',
                         rollover => '{"credits": {"max": 100, "fraction": 0.5}}');
select plan, feature from credits.set_plan_feature('pro_roll', 'roast');
select * from credits.upsert_plan('pro_roll', rollover => '{"credits": {"fraction": 2}}');
reset role;

-- May: 500 credits, 380 of them left unspent; 20 credits bought.
select account_id, plan from credits.open_account('u_7', 'pro_roll');
select ok, charged, available from credits.deduct_credits('u_7', 'roast', amount => 120);
select * from credits.purchase_credits('u_7', 20, 'stripe:pi_7a');

-- June, before any call: the read already counts the rollover (half of 380, capped at 100).
set credits.now = '2027-06-04 09:00:00+00';
select credit_type, available, buckets from credits.get_balance('u_7');

-- The first debit renews; the ledger shows May's 380 expiring, June's 500 and the rollover.
select ok, charged, available from credits.deduct_credits('u_7', 'roast');
select kind, amount, balance_after, reason from credits.ledger
where account_id = 'u_7' and created_at = '2027-06-04 09:00:00+00' order by transaction_id;
