-- 05 team pools: an organization's credits shared by its members, each
-- within a cap per period of the pool (docs/contract.md, Teams).
set timezone = 'UTC';
set credits.now = '2027-01-05 09:00:00+00';
\set SHOW_CONTEXT never

-- The organization buys credits once; ana may use 20 of them a period, ben any.
select account_id, plan from credits.open_account('acme');
select * from credits.purchase_credits('acme', 100, 'pay_acme_1');
select account_id from credits.open_account('ana') union all select account_id from credits.open_account('ben');
select * from credits.add_pool_member('acme', 'ana', '{"credits": 20}');
select pool_id, member_id, caps from credits.add_pool_member('acme', 'ben');
-- Refused by name: a bad cap, a pool as a member, an unknown account.
select * from credits.add_pool_member('acme', 'cid', '{"credits": -5}');
select * from credits.add_pool_member('ana', 'acme');
select * from credits.add_pool_member('ana', 'cid');

-- ana's own 6 signup credits pay first, then the pool (15 credits: 6 + 9).
select ok, charged, available from credits.deduct_credits('ana', 'video_render', '{"seconds": 30}');
select transaction_id, account_id, amount, member_id, pool_id, pool_transaction_id
from credits.ledger where kind = 'debit' order by transaction_id;
select credit_type, available, pool_available, pool_cap_remaining from credits.get_balance('ana');
-- check_feature names the pool's grants; past her cap ana is refused, the pool has plenty.
select allowed, draws from credits.check_feature('ana', 'video_render', '{"seconds": 20}');
select ok, reason from credits.deduct_credits('ana', 'video_render', '{"seconds": 30}');
select ok, charged from credits.deduct_credits('ana', 'video_render', '{"seconds": 22}');
select account_id, kind, payload from credits.events where kind in ('feature_gated', 'member_cap_reached')
order by event_id;

-- ana herself (a credits_user, as the gateway acts for her) sees her own slice only.
begin;
set local role credits_user;
set local request.jwt.claims = '{"sub": "ana", "role": "credits_user"}';
select member_id, caps, used_this_period, cap_remaining from credits.get_pool('acme');
select count(*) from credits.ledger where account_id = 'acme';
select * from credits.get_balance('acme');
rollback;
-- With pool_admin naming the pool in her claims she sees every member.
begin;
set local role credits_user;
set local request.jwt.claims = '{"sub": "ana", "role": "credits_user", "pool_admin": ["acme"]}';
select member_id, caps, used_this_period, cap_remaining from credits.get_pool('acme');
rollback;

-- A refund goes back to the pool and to ana's cap.
select * from credits.refund_transaction(
  (select min(transaction_id) from credits.ledger where account_id = 'ana' and kind = 'debit'), 'render failed');
select member_id, used_this_period, cap_remaining from credits.get_pool('acme');

-- In the pool's next period ana's cap is whole again.
set credits.now = '2027-02-06 09:00:00+00';
select member_id, used_this_period, cap_remaining, period_start from credits.get_pool('acme');
select * from credits.reconciliation;
