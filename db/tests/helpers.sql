-- The `tests` schema: helpers for pgTAP files. Loaded only into test
-- databases (conftest.py), never by `pgcredits migrate`. Every helper
-- returns text (an empty string): pytest-pgtap reads every row a file
-- prints as TAP text, and a NULL or a timestamp row would break it.

create schema if not exists tests;
grant usage on schema tests to public;

-- tests.act_as(role, sub): act as a caller for the rest of the transaction,
-- the way PostgREST and the gateway do: the role and request.jwt.claims set
-- transaction-locally. tests.act_as('credits_user', 'alice').
create or replace function tests.act_as(role text, sub text default null)
returns text
language plpgsql
as $$
begin
  perform set_config('role', role, true);
  perform set_config('request.jwt.claims',
                     case when sub is null then '' else jsonb_build_object('sub', sub, 'role', role)::text end,
                     true);
  return '';
end
$$;

-- tests.act_as_superuser(): back to the session's own (superuser) role.
create or replace function tests.act_as_superuser()
returns text
language plpgsql
as $$
begin
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
  return '';
end
$$;

-- tests.travel(at): move credits.now() to `at` for the rest of the
-- transaction (the test database has credits.allow_clock_override = on).
create or replace function tests.travel(at timestamptz)
returns text
language sql
as $$
  select '' from set_config('credits.now', at::text, true)
$$;

-- tests.open(account, plan, is_demo, timezone): credits.open_account as the
-- role acting, returning '' (a TAP line) rather than the account's row.
--   SELECT tests.open('h_cap', 'hold_empty'); SELECT tests.open(a) FROM unnest(array['alice', 'bob']) a;
create or replace function tests.open(account text, plan text default 'free', is_demo boolean default false,
                                      timezone text default 'UTC')
returns text
language sql
as $$
  select '' from credits.open_account(account, plan, is_demo, timezone)
$$;

-- tests.catalog(): a small known catalog for tests, independent of the example.
--   credit types: credits, analysis
--   features: roast (1 a call), video (0.5 a second), chat (0.0005 an input
--     token, 0.0015 an output token), analysis_run (2 analysis credits),
--     chapter (1 a call), premium (3 a call)
--   plans: free (the default plan; 6 credits at signup; roast, video, chat,
--     analysis_run, chapter limited to 3 a period; not premium), pro (100
--     credits a month, every feature, premium at 2 instead of 3), team
--     (unlimited, every feature)
create or replace function tests.catalog()
returns text
language sql
as $$
  select credits.upsert_credit_type('credits', 'General credits');
  select credits.upsert_credit_type('analysis', 'Analysis credits');
  select credits.upsert_feature('roast', 'credits', 1);
  select credits.upsert_feature('video', 'credits', 0, '{"seconds": 0.5}');
  select credits.upsert_feature('chat', 'credits', 0, '{"input_tokens": 0.0005, "output_tokens": 0.0015}');
  select credits.upsert_feature('analysis_run', 'analysis', 2);
  select credits.upsert_feature('chapter', 'credits', 1);
  select credits.upsert_feature('premium', 'credits', 3);
  select credits.upsert_plan('free', signup_grant => '{"credits": 6}', is_default => true);
  select credits.upsert_plan('pro', monthly_allowance => '{"credits": 100}');
  select credits.upsert_plan('team', unlimited => true);
  select credits.set_plan_feature('free', f)
  from unnest(array['roast', 'video', 'chat', 'analysis_run']) f;
  select credits.set_plan_feature('free', 'chapter', period_limit => 3);
  select credits.set_plan_feature(p, f)
  from unnest(array['pro', 'team']) p,
       unnest(array['roast', 'video', 'chat', 'analysis_run', 'chapter', 'premium']) f;
  select credits.set_plan_feature('pro', 'premium', cost_override => 2);
  select '';
$$;

-- The label registry ----------------------------------------------------------
-- A file names what it makes by a label and reads it back by that label:
--   tests.ids: any id (a grant, a transaction, a hold, a period) or a count
--     kept to compare with later;
--   tests.reserved: rows of reserve_credits;
--   tests.charged: rows of deduct_credits and capture_hold.
-- Tables in the template, empty: every pgTAP file rolls back what it wrote.
-- Every caller role may read and write them.
--   INSERT INTO tests.ids SELECT 'promo', grant_id FROM credits.grant_credits(...);
--   INSERT INTO tests.reserved SELECT 'h1', * FROM credits.reserve_credits(...);
--   INSERT INTO tests.charged SELECT 'd1', * FROM credits.deduct_credits(...);
create table if not exists tests.ids (label text primary key, id bigint);
create table if not exists tests.reserved (label text primary key, ok boolean, reason text, hold_id bigint,
                                           held numeric, expires_at timestamptz);
create table if not exists tests.charged (label text primary key, ok boolean, reason text, transaction_id bigint,
                                          charged numeric, available numeric, credit_type text);
grant all on tests.ids, tests.reserved, tests.charged to public;

-- tests.id(label): the id kept under label in tests.ids, else the hold_id of
-- the reserve kept under it in tests.reserved.
create or replace function tests.id(label text)
returns bigint
language sql
stable
as $$
  select coalesce((select i.id from tests.ids i where i.label = id.label),
                  (select r.hold_id from tests.reserved r where r.label = id.label))
$$;

-- tests.tx(label): the ledger row (transaction_id) of the deduct_credits or
-- capture_hold kept under label in tests.charged.
create or replace function tests.tx(label text)
returns bigint
language sql
stable
as $$
  select c.transaction_id from tests.charged c where c.label = tx.label
$$;

-- tests.draw(label, amount): one element of a ledger row's or a hold's draws,
-- {"grant_id": <the grant kept under label>, "amount": amount}.
create or replace function tests.draw(label text, amount numeric)
returns jsonb
language sql
stable
as $$
  select jsonb_build_object('grant_id', tests.id(label), 'amount', amount)
$$;

-- Reading ----------------------------------------------------------------------

-- tests.bal(account): the account's general credits as get_balance reports them.
create or replace function tests.bal(account text, out available numeric, out held numeric, out granted numeric,
                                     out used numeric, out period_start timestamptz, out period_end timestamptz)
language sql
stable
as $$
  select b.available, b.held, b.granted_this_period, b.used_this_period, b.period_start, b.period_end
  from credits.get_balance(account) b where b.credit_type = 'credits'
$$;

-- tests.signup(account): the id of the account's signup grant.
create or replace function tests.signup(account text)
returns bigint
language sql
stable
as $$
  select grant_id from credits.ledger
  where account_id = account and kind = 'grant' and metadata ->> 'source' = 'signup'
$$;

-- tests.draws(tx): a ledger row's draws as rows (grant_id, of_grant_id, amount).
create or replace function tests.draws(tx bigint)
returns table (grant_id bigint, of_grant_id bigint, amount numeric)
language sql
stable
as $$
  select (d ->> 'grant_id')::bigint, (d ->> 'of_grant_id')::bigint, (d ->> 'amount')::numeric
  from credits.ledger l, jsonb_array_elements(l.draws) d where l.transaction_id = tx
$$;

-- tests.last_tx(account): the account's newest ledger row.
create or replace function tests.last_tx(account text)
returns bigint
language sql
stable
as $$
  select max(transaction_id) from credits.ledger where account_id = account
$$;

-- tests.rows_after(account, after): the account's ledger rows after transaction `after`, oldest first.
create or replace function tests.rows_after(account text, after bigint)
returns table (kind text, amount numeric, grant_id bigint, source text, reason text, actor text)
language sql
stable
as $$
  select l.kind, l.amount, l.grant_id, l.metadata ->> 'source', l.reason, l.actor from credits.ledger l
  where l.account_id = account and l.transaction_id > after order by l.transaction_id
$$;

-- Private rows no caller role may read, read with the owner's rights for every
-- actor of a file: holds (there is no public view of holds' earmarks), grants
-- (local_day, remaining, expired_at), accounts (daily_until) and stored
-- subscription events. A null argument is no filter.
create or replace function tests.holds(accounts text[] default null)
returns setof credits_private.holds
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select * from credits_private.holds where accounts is null or account_id = any (accounts)
$$;

create or replace function tests.grants(account text default null, source text default null)
returns setof credits_private.grants
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select * from credits_private.grants g
  where (account is null or g.account_id = account) and (grants.source is null or g.source = grants.source)
  order by g.grant_id
$$;

create or replace function tests.accounts(account text default null)
returns setof credits_private.accounts
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select * from credits_private.accounts a where account is null or a.account_id = account
$$;

create or replace function tests.sub_events(account text)
returns table (event_id text, effect text)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select e.event_id, e.effect from credits_private.subscription_events e where e.account_id = account order by e.seq
$$;

-- Moments and events -----------------------------------------------------------

-- tests.seen and tests.see(account): what get_balance said of an account at
-- each moment it was asked, to read back with balance_at later.
create table if not exists tests.seen (account_id text, at timestamptz, credit_type text, available numeric);
grant all on tests.seen to public;

create or replace function tests.see(account text)
returns text
language sql
as $$
  insert into tests.seen select account, credits.now(), b.credit_type, b.available from credits.get_balance(account) b;
  select ''
$$;

-- tests.mark() and tests.kinds(account): the account's balance events after
-- the last mark, as kind or kind:threshold, in order.
create table if not exists tests.marks (event_id bigint not null);
grant all on tests.marks to public;

create or replace function tests.mark()
returns text
language sql
as $$
  delete from tests.marks;
  insert into tests.marks select coalesce(max(event_id), 0) from credits.events;
  select ''
$$;

create or replace function tests.kinds(account text)
returns text[]
language sql
stable
as $$
  select coalesce(array_agg(kind || coalesce(':' || (payload ->> 'threshold'), '') order by event_id), '{}')
  from credits.events
  where account_id = account and event_id > coalesce((select max(event_id) from tests.marks), 0)
$$;

-- Invariants, asserted at the end of a file (as the superuser) --------------------

-- tests.ledger_is_chained(): one assertion: every ledger row's balance_before
-- is the previous row's balance_after, per account and credit type.
create or replace function tests.ledger_is_chained()
returns text
language sql
as $$
  select is_empty(
    $q$select account_id, credit_type, transaction_id, balance_before, prev_after
       from (select l.*, lag(balance_after) over (partition by account_id, credit_type order by transaction_id)
                     as prev_after
             from credits.ledger l) c
       where balance_before <> coalesce(prev_after, 0)$q$,
    'ledger chain: every row''s balance_before is the previous row''s balance_after (per account and credit type)')
$$;

-- tests.holds_are_consistent(): two assertions on every hold and balance.
create or replace function tests.holds_are_consistent()
returns setof text
language plpgsql
as $$
begin
  return next is_empty($q$select b.account_id, b.credit_type, b.held, h.held, f.held
                          from credits_private.balances b
                          left join (select account_id, credit_type, sum(amount) as held from credits_private.holds
                                     where status = 'held' group by 1, 2) h using (account_id, credit_type)
                          left join (select account_id, credit_type, sum(held) as held from credits_private.grants
                                     where not_before is not null group by 1, 2) f using (account_id, credit_type)
                          where b.held <> coalesce(h.held, 0) + coalesce(f.held, 0)$q$,
                       'every balance holds exactly what its live holds hold (and future-dated grants, until they start)');
  return next is_empty($q$select hold_id from credits_private.holds
                          where (status = 'captured') <> (capture_entry_id is not null)
                             or (status = 'held') <> (ended_at is null)$q$,
                       'every captured hold names its capture row; every ended hold has ended_at');
end
$$;

-- Catalogs beside tests.catalog() -----------------------------------------------

-- tests.hold_empty_plan(): plan hold_empty, with roast and no signup grant,
-- so that an account holds exactly what it is granted. Run as the superuser.
create or replace function tests.hold_empty_plan()
returns text
language sql
as $$
  select credits.upsert_plan('hold_empty');
  select credits.set_plan_feature('hold_empty', 'roast');
  select '';
$$;

-- tests.app_plans(s0_free_default): an app's own plans, named otherwise than
-- the test catalog's: s0_free (3 credits at signup) and s1_pro (100 a month),
-- both with roast; s0_free is made the default plan when asked (free stays
-- the default otherwise). Run as the superuser.
create or replace function tests.app_plans(s0_free_default boolean default false)
returns text
language sql
as $$
  select credits.upsert_plan('s0_free', signup_grant => '{"credits": 3}', is_default => nullif(s0_free_default, false));
  select credits.upsert_plan('s1_pro', monthly_allowance => '{"credits": 100}');
  select credits.set_plan_feature(p, 'roast') from unnest(array['s0_free', 's1_pro']) p;
  select '';
$$;

-- tests.daily_accounts(): the plans and accounts of grant_daily_credits/:
-- drip (2 credits at signup; 5 credits and 1 analysis credit a day) and
-- drip_pro (100 credits a month, 5 a day), both with roast, video and
-- analysis_run; opened now by the service: dy_utc, dy_tokyo (Asia/Tokyo),
-- dy_kolkata (Asia/Kolkata), dy_ny (America/New_York), dy_susp (suspended)
-- and dy_closed (closed) on drip, dy_free on free, dy_both on drip_pro. Run
-- as the superuser, which it is again at the end.
create or replace function tests.daily_accounts()
returns text
language plpgsql
as $$
begin
  perform credits.upsert_plan('drip', signup_grant => '{"credits": 2}', daily_allowance => '{"credits": 5, "analysis": 1}');
  perform credits.upsert_plan('drip_pro', monthly_allowance => '{"credits": 100}', daily_allowance => '{"credits": 5}');
  perform credits.set_plan_feature(p, f)
  from unnest(array['drip', 'drip_pro']) p, unnest(array['roast', 'video', 'analysis_run']) f;
  perform tests.act_as('credits_service');
  perform credits.open_account(v.account_id, v.plan, timezone => v.timezone)
  from (values ('dy_utc', 'drip', 'UTC'), ('dy_tokyo', 'drip', 'Asia/Tokyo'), ('dy_kolkata', 'drip', 'Asia/Kolkata'),
               ('dy_ny', 'drip', 'America/New_York'), ('dy_susp', 'drip', 'UTC'), ('dy_closed', 'drip', 'UTC'),
               ('dy_free', 'free', 'UTC'), ('dy_both', 'drip_pro', 'UTC')) v (account_id, plan, timezone);
  perform credits.set_account_status('dy_susp', 'suspended', 'chargeback 8812');
  perform credits.set_account_status('dy_closed', 'closed', 'user left');
  perform tests.act_as_superuser();
  return '';
end
$$;

-- tests.alice_and_bob(alice_calls): the two accounts of security/, opened on
-- free by the service, and what was done to them: bob granted a promo of 10,
-- charged a roast (idempotency_key bob-1) and a 4-second video and refused
-- premium by the service, charged a roast (bob-2) by the service with the sub
-- backend-7; then, with alice_calls, alice's own roast (alice-1) and her
-- refused premium. Bob has 12 credits, alice 5 (6 without alice_calls). Run
-- as the superuser, which it is again at the end.
create or replace function tests.alice_and_bob(alice_calls boolean default true)
returns text
language plpgsql
as $$
begin
  perform tests.act_as('credits_service');
  perform credits.open_account(a) from unnest(array['alice', 'bob']) a;
  perform credits.grant_credits('bob', 10, 'promo');
  perform credits.deduct_credits('bob', 'roast', idempotency_key => 'bob-1');
  perform credits.deduct_credits('bob', 'video', '{"seconds": 4}');
  perform credits.deduct_credits('bob', 'premium');
  perform tests.act_as('credits_service', 'backend-7');
  perform credits.deduct_credits('bob', 'roast', idempotency_key => 'bob-2');
  if alice_calls then
    perform tests.act_as('credits_user', 'alice');
    perform credits.deduct_credits('alice', 'roast', idempotency_key => 'alice-1');
    perform credits.deduct_credits('alice', 'premium');
  end if;
  perform tests.act_as_superuser();
  return '';
end
$$;

-- tests.subscription_plans(): the plans of the subscription files: free with
-- a monthly allowance of 10 and no signup grant (it replaces tests.catalog's
-- free), premium (500 credits and 20 analysis credits a month, roast and
-- premium), dripper (10 a month and 2 a day); pro (tests.catalog) has 100
-- credits a month. Run as the superuser.
create or replace function tests.subscription_plans()
returns text
language sql
as $$
  select credits.upsert_plan('free', monthly_allowance => '{"credits": 10}');
  select credits.upsert_plan('premium', monthly_allowance => '{"credits": 500, "analysis": 20}');
  select credits.set_plan_feature('premium', f) from unnest(array['roast', 'premium']) f;
  select credits.upsert_plan('dripper', monthly_allowance => '{"credits": 10}', daily_allowance => '{"credits": 2}');
  select '';
$$;

-- tests.alice_march(first, last): steps first to last (first alone when last
-- is null) of alice's March in balance_at/, each at its moment and ending with
-- tests.see('alice'), so that balance_at can be read back at every moment
-- get_balance was asked. alice is on pro (100 credits a month from Mar 10
-- 12:00); amounts to the micro-credit. The service acts, the admin where a
-- correction needs one; the role is the service's after every step.
--   1  Mar 10 12:00  alice (pro) and bob (free) open
--   2  Mar 11 09:00  a promo of 20.5 until Mar 20 00:00 (label promo), a purchase of 50, 5 analysis credits
--   3  Mar 12 10:00  a debit of 25.123456 (d1)
--   4  Mar 13 10:00  an admin grant of 10 at priority 50 (admin), a debit of 3.000001 (d2), analysis_run (2)
--   5  Mar 14 10:00  the admin grant voided (6.999999 of it left)
--   6  Mar 15 10:00  d1 refunded 8.000001, d2 refunded in full (to a new refund grant: its grant was voided)
--   7  Mar 18 10:00  a debit of 2
--   8  Mar 22 10:00  nothing: the promo ended on Mar 20 with 3.376545 left, its expiry not yet written
--   9  Mar 23 10:00  a debit of 1 (the promo's expiry written first)
--  10  Apr 12 09:00  nothing: the period ended Apr 10 12:00, not opened yet
--  11  Apr 13 09:00  a debit of 4 (opening April first)
create or replace function tests.alice_march(first integer, last integer default null)
returns text
language plpgsql
as $$
declare
  step integer;
begin
  for step in first .. coalesce(last, first) loop
    perform tests.act_as('credits_service');
    case step
      when 1 then
        perform tests.travel('2026-03-10 12:00+00');
        perform credits.open_account('alice', 'pro');
        perform credits.open_account('bob');
      when 2 then
        perform tests.travel('2026-03-11 09:00+00');
        insert into tests.ids
        select 'promo', grant_id from credits.grant_credits('alice', 20.5, 'promo', expires_at => '2026-03-20 00:00+00');
        perform credits.purchase_credits('alice', 50, 'pay-ba-1');
        perform credits.grant_credits('alice', 5, 'promo', 'analysis');
      when 3 then
        perform tests.travel('2026-03-12 10:00+00');
        insert into tests.ids select 'd1', transaction_id from credits.deduct_credits('alice', 'roast', amount => 25.123456);
      when 4 then
        perform tests.travel('2026-03-13 10:00+00');
        perform tests.act_as('credits_admin');
        insert into tests.ids
        select 'admin', grant_id from credits.grant_credits('alice', 10, 'admin', priority => 50, reason => 'goodwill');
        perform tests.act_as('credits_service');
        insert into tests.ids select 'd2', transaction_id from credits.deduct_credits('alice', 'roast', amount => 3.000001);
        perform credits.deduct_credits('alice', 'analysis_run');
      when 5 then
        perform tests.travel('2026-03-14 10:00+00');
        perform tests.act_as('credits_admin');
        perform credits.void_grant(tests.id('admin'), 'goodwill withdrawn');
      when 6 then
        perform tests.travel('2026-03-15 10:00+00');
        perform tests.act_as('credits_admin');
        perform credits.refund_transaction(tests.id('d1'), 'render failed', 8.000001);
        perform credits.refund_transaction(tests.id('d2'), 'job lost');
      when 7 then
        perform tests.travel('2026-03-18 10:00+00');
        perform credits.deduct_credits('alice', 'roast', amount => 2);
      when 8 then
        perform tests.travel('2026-03-22 10:00+00');
      when 9 then
        perform tests.travel('2026-03-23 10:00+00');
        perform credits.deduct_credits('alice', 'roast', amount => 1);
      when 10 then
        perform tests.travel('2026-04-12 09:00+00');
      when 11 then
        perform tests.travel('2026-04-13 09:00+00');
        perform credits.deduct_credits('alice', 'roast', amount => 4);
    end case;
    perform tests.see('alice');
    perform tests.act_as('credits_service');
  end loop;
  return '';
end
$$;

-- tests.sub_a_subscribed(): at Mar 12 09:00 (the clock stays there) event
-- e_a1 subscribes sub_a (opened on free on Mar 10) to pro for the provider's
-- period Mar 12 08:00 -> Apr 12 08:00, as the role acting (the service); the
-- first event that apply_subscription_event/test_first_event_and_idempotency.sql
-- checks.
create or replace function tests.sub_a_subscribed()
returns text
language sql
as $$
  select tests.travel('2026-03-12 09:00+00');
  select '' from credits.apply_subscription_event('e_a1', 'sub_a', 'pro', 'active', '2026-03-12 08:00+00',
                                                  '2026-04-12 08:00+00');
$$;
