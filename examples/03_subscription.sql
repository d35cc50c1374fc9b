-- 03 subscription: a payment provider's webhooks drive the plan and the
-- periods. Upgrades take effect at once; downgrades at the period's end;
-- a retried or late webhook changes nothing.
set timezone = 'UTC';
set credits.now = '2027-01-05 09:00:00+00';

select account_id, plan, period_start, period_end from credits.open_account('maya', timezone => 'Europe/Paris');
-- A page that shows her balance live watches her: while it does, her balance changes are events.
select watching from credits.watch_events('maya-tab', array['maya'], null);

-- Maya subscribes to pro: the provider's period, and pro's 500 credits at once.
select plan, period_start, period_end
from credits.apply_subscription_event('evt_1', 'maya', 'pro', 'active', '2027-01-05 09:00+00', '2027-02-05 09:00+00');
-- The webhook again (a retry): nothing changes.
select plan, period_start, period_end
from credits.apply_subscription_event('evt_1', 'maya', 'pro', 'active', '2027-01-05 09:00+00', '2027-02-05 09:00+00');
select credit_type, available, granted_this_period, buckets from credits.get_balance('maya');

set credits.now = '2027-01-20 18:30:00+00';
select ok, charged, available from credits.deduct_credits('maya', 'chat', '{"input_tokens": 40000, "output_tokens": 12000}');

-- She cancels: pro lasts until the period's end.
select plan, period_end
from credits.apply_subscription_event('evt_2', 'maya', 'free', 'canceled', '2027-01-05 09:00+00', '2027-02-05 09:00+00');
select credit_type, available, plan from credits.get_balance('maya');

-- The period ends: the unspent monthly credits expire (allowances do not
-- accumulate), the signup credits stay, and she is on free.
set credits.now = '2027-02-05 10:00:00+00';
select credit_type, available, plan, period_start, period_end, buckets from credits.get_balance('maya');
-- Reads report the account as it stands; the next mutating call (here: opening the period) writes it down.
select period_start, period_end from credits.get_or_create_active_period('maya');
-- The expiry job writes the expiry down in the ledger (balances never counted the ended grant anyway).
select * from credits.expire_grants();

select transaction_id, kind, amount, balance_after, feature, created_at from credits.get_history('maya');
select kind, count(*) from credits.events where account_id = 'maya' group by kind order by min(event_id);
