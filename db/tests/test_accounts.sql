-- Accounts: open_account, set_account_status, get_balance and get_history
-- (SPEC §1 account/period, §2 Accounts and balances, §3 roles).
--
-- open_account: the signup grant and the first period in the same call; the
-- period is monthly from the billing anchor in the account's time zone, the
-- day clamped to the month's end; a pro account gets its monthly allowance as
-- a grant ending with the period; opening again changes nothing. Errors PT404
-- (plan) and PT422 (id, time zone, metadata); users and auditors cannot open.
-- set_account_status: suspended and closed accounts are refused debits with
-- account_inactive and keep their credits; reactivation. get_balance: one row
-- per credit type with its figures. get_history: newest first, keyset pages.

BEGIN;
SELECT plan(60);
SELECT '' FROM tests.catalog();  -- '' rather than the SQL function's null: TAP lines must be text
-- A plan with a daily allowance, for next_reset_at.
SELECT code FROM credits.upsert_plan('drip', daily_allowance => '{"credits": 2}');
SELECT set_plan_feature::text FROM credits.set_plan_feature('drip', 'roast');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- Opened at 2026-01-30 23:30 UTC, which is already Jan 31 00:30 in Paris: the
-- Paris account renews on (local) Feb 28, the UTC one on Feb 28 (clamped Jan 30 + 1 month).
SELECT tests.travel('2026-01-30 23:30+00')::text;
SELECT results_eq(
  $$select billing_anchor, period_start, period_end from credits.open_account('pierre', timezone => 'Europe/Paris')$$,
  $$values ('2026-01-30 23:30+00'::timestamptz, '2026-01-30 23:30+00'::timestamptz, '2026-02-27 23:30+00'::timestamptz)$$,
  'Europe/Paris account opened Jan 31 00:30 local: first period ends Feb 28 00:30 local (Feb 27 23:30 UTC)');
SELECT results_eq(
  $$select timezone, period_end from credits.open_account('uma')$$,
  $$values ('UTC'::text, '2026-02-28 23:30+00'::timestamptz)$$,
  'UTC account opened Jan 30 23:30: first period ends Feb 28 23:30 UTC');

SELECT tests.travel('2026-01-31 10:00+00')::text;
SELECT results_eq(
  $$select account_id, plan, status, is_demo, timezone, billing_anchor, period_start, period_end, metadata
    from credits.open_account('alice')$$,
  $$values ('alice'::text, 'free'::text, 'active'::text, false, 'UTC'::text, '2026-01-31 10:00+00'::timestamptz,
            '2026-01-31 10:00+00'::timestamptz, '2026-02-28 10:00+00'::timestamptz, '{}'::jsonb)$$,
  'open_account returns the new account: free, active, UTC, anchored now, first period to Feb 28 (day clamped)');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, metadata ->> 'source'
    from credits.ledger where account_id = 'alice'$$,
  $$values ('grant'::text, 6::numeric, 0::numeric, 6::numeric, 'signup'::text)$$,
  'open_account wrote the plan''s signup grant of 6 in the same call');
SELECT is((select available from credits.get_balance('alice') where credit_type = 'credits'), 6::numeric,
          'the signup grant is available at once');
SELECT is((select metadata from credits.open_account('bob', metadata => '{"team": "blue"}')), '{"team": "blue"}'::jsonb,
          'open_account stores the metadata it is given');
SELECT results_eq(
  $$select plan, period_end from credits.open_account('pia', 'pro')$$,
  $$values ('pro'::text, '2026-02-28 10:00+00'::timestamptz)$$,
  'a pro account is opened on pro');
SELECT results_eq(
  $$select kind, amount, metadata ->> 'source' from credits.ledger where account_id = 'pia'$$,
  $$values ('grant'::text, 100::numeric, 'monthly'::text)$$,
  'a pro account gets its monthly allowance of 100 as a grant (pro has no signup grant)');
SELECT account_id FROM credits.open_account('tess', 'team');
SELECT account_id FROM credits.open_account('dana', 'drip', timezone => 'Europe/Paris');

-- Opening again, an hour later and with other arguments, changes nothing.
SELECT tests.travel('2026-01-31 11:00+00')::text;
SELECT results_eq(
  $$select account_id, plan, status, is_demo, timezone, billing_anchor, period_start, period_end, metadata
    from credits.open_account('alice', 'pro', true, 'Europe/Paris', '{"x": 1}')$$,
  $$values ('alice'::text, 'free'::text, 'active'::text, false, 'UTC'::text, '2026-01-31 10:00+00'::timestamptz,
            '2026-01-31 10:00+00'::timestamptz, '2026-02-28 10:00+00'::timestamptz, '{}'::jsonb)$$,
  'opening an existing account with other arguments returns it unchanged');
SELECT is((select count(*)::int from credits.ledger where account_id = 'alice'), 1,
          'opening an existing account grants nothing again');

SELECT throws_ok($$select credits.open_account('ghost', 'platinum')$$, 'PT404', 'unknown plan platinum',
                 'open_account refuses an unknown plan (PT404)');
SELECT throws_ok($$select credits.open_account('')$$, 'PT422', 'account_id must be 1 to 200 characters, got ''''',
                 'open_account refuses an empty account_id (PT422)');
SELECT throws_ok($$select credits.open_account(null)$$, 'PT422', 'account_id must be 1 to 200 characters, got null',
                 'open_account refuses a null account_id (PT422)');
SELECT throws_ok($$select credits.open_account('ghost', timezone => 'Mars/Olympus_Mons')$$, 'PT422', 'unknown time zone Mars/Olympus_Mons',
                 'open_account refuses an unknown time zone (PT422)');
SELECT throws_ok($$select credits.open_account('ghost', timezone => '')$$, 'PT422', 'unknown time zone ',
                 'open_account refuses an empty time zone (PT422)');
SELECT throws_ok($$select credits.open_account('ghost', metadata => '["vip"]')$$, 'PT422', 'metadata must be a JSON object, got ["vip"]',
                 'open_account refuses metadata that is not a JSON object (PT422)');
SELECT throws_ok($$select credits.open_account('ghost', metadata => null)$$, 'PT422', 'metadata must be a JSON object, got null',
                 'open_account refuses null metadata (PT422)');
SELECT is((select count(*)::int from credits.accounts where account_id = 'ghost'), 0,
          'no refused open_account left an account behind');

-- set_account_status
SELECT results_eq(
  $$select status, status_reason from credits.set_account_status('bob', 'suspended', 'chargeback 8812')$$,
  $$values ('suspended'::text, 'chargeback 8812'::text)$$,
  'set_account_status suspends bob and keeps the reason');
SELECT results_eq(
  $$select ok, reason, charged from credits.deduct_credits('bob', 'roast')$$,
  $$values (false, 'account_inactive'::text, 0::numeric)$$,
  'a suspended account is refused a debit with account_inactive');
SELECT is((select available from credits.get_balance('bob') where credit_type = 'credits'), 6::numeric,
          'a suspended account keeps its credits');
SELECT is((select status from credits.set_account_status('bob', 'closed', 'user asked')), 'closed',
          'set_account_status closes bob');
SELECT results_eq(
  $$select ok, reason from credits.deduct_credits('bob', 'roast')$$,
  $$values (false, 'account_inactive'::text)$$,
  'a closed account is refused a debit with account_inactive');
SELECT is((select available from credits.get_balance('bob') where credit_type = 'credits'), 6::numeric,
          'a closed account keeps its credits');
SELECT is((select count(*)::int from credits.ledger where account_id = 'bob' and kind = 'debit'), 0,
          'the refused debits wrote no ledger row');
SELECT is((select status from credits.set_account_status('bob', 'active', 'dispute won')), 'active',
          'set_account_status reactivates bob');
SELECT results_eq(
  $$select ok, charged, available from credits.deduct_credits('bob', 'roast')$$,
  $$values (true, 1::numeric, 5::numeric)$$,
  'a reactivated account is charged again, from the credits it kept');
SELECT throws_ok($$select credits.set_account_status('bob', 'frozen', 'why not')$$, 'PT422', 'invalid account status frozen',
                 'set_account_status refuses an unknown status (PT422)');
SELECT throws_ok($$select credits.set_account_status('bob', 'suspended', null)$$, 'PT422', 'a reason is required to change the status of account bob',
                 'set_account_status refuses a missing reason (PT422)');
SELECT throws_ok($$select credits.set_account_status('bob', 'suspended', '   ')$$, 'PT422', 'a reason is required to change the status of account bob',
                 'set_account_status refuses a blank reason (PT422)');
SELECT throws_ok($$select credits.set_account_status('ghost', 'suspended', 'fraud')$$, 'PT404', 'unknown account ghost',
                 'set_account_status refuses an unknown account (PT404)');

-- get_balance
SELECT results_eq(
  $$select credit_type from credits.get_balance('pia')$$,
  $$values ('analysis'::text), ('credits'::text)$$,
  'get_balance returns one row per credit type of the catalog, even one never granted');
SELECT results_eq(
  $$select ok, charged from credits.deduct_credits('pia', 'roast')
    union all select ok, charged from credits.deduct_credits('pia', 'premium')$$,
  $$values (true, 1::numeric), (true, 2::numeric)$$,
  'pia spends 1 on roast and 2 on premium (pro''s override)');
SELECT results_eq(
  $$select available, held, granted_this_period, used_this_period, period_start, period_end, next_reset_at,
           plan, unlimited, buckets
    from credits.get_balance('pia') where credit_type = 'credits'$$,
  $$values (97::numeric, 0::numeric, 100::numeric, 3::numeric, '2026-01-31 10:00+00'::timestamptz,
            '2026-02-28 10:00+00'::timestamptz, '2026-02-28 10:00+00'::timestamptz, 'pro'::text, false,
            '{"monthly": 97}'::jsonb)$$,
  'get_balance of credits: available, held, granted and used this period, period, next reset, plan, buckets');
SELECT results_eq(
  $$select available, held, granted_this_period, used_this_period, plan, buckets
    from credits.get_balance('pia') where credit_type = 'analysis'$$,
  $$values (0::numeric, 0::numeric, 0::numeric, 0::numeric, 'pro'::text, '{}'::jsonb)$$,
  'get_balance of a credit type never granted: zeros and no buckets');
SELECT grant_id::text FROM credits.purchase_credits('pia', 10, 'pay_pia_1');
SELECT results_eq(
  $$select available, buckets from credits.get_balance('pia') where credit_type = 'credits'$$,
  $$values (107::numeric, '{"monthly": 97, "purchase": 10}'::jsonb)$$,
  'buckets show the remainder per source');
SELECT results_eq(
  $$select plan, unlimited from credits.get_balance('tess') where credit_type = 'credits'$$,
  $$values ('team'::text, true)$$,
  'get_balance reports an unlimited plan');
SELECT is((select next_reset_at from credits.get_balance('dana') where credit_type = 'credits'),
          '2026-01-31 23:00+00'::timestamptz,
          'with a daily allowance, next_reset_at is the next local midnight (Paris: 23:00 UTC)');
SELECT throws_ok($$select * from credits.get_balance('ghost')$$, 'PT404', 'unknown account ghost',
                 'get_balance refuses an unknown account (PT404)');

-- get_history: alice spends 5 roasts, so her ledger has 6 rows, interleaved with bob's.
SELECT ok::text FROM credits.deduct_credits('alice', 'roast');
SELECT ok::text FROM credits.deduct_credits('alice', 'roast');
SELECT ok::text FROM credits.deduct_credits('bob', 'roast');
SELECT ok::text FROM credits.deduct_credits('alice', 'roast');
SELECT ok::text FROM credits.deduct_credits('alice', 'roast');
SELECT ok::text FROM credits.deduct_credits('alice', 'roast');
SELECT results_eq(
  $$select kind, amount, balance_after from credits.get_history('alice')$$,
  $$values ('debit'::text, -1::numeric, 1::numeric), ('debit', -1, 2), ('debit', -1, 3), ('debit', -1, 4),
           ('debit', -1, 5), ('grant', 6, 6)$$,
  'get_history returns the account''s ledger rows only, newest first');
SELECT set_config('tw.page1_last', min(transaction_id)::text, true) FROM credits.get_history('alice', 2);
SELECT results_eq(
  $$select transaction_id from credits.get_history('alice', 2)$$,
  $$select transaction_id from credits.ledger where account_id = 'alice' order by transaction_id desc limit 2$$,
  'get_history page 1 of 3: the 2 newest rows');
SELECT results_eq(
  $$select transaction_id from credits.get_history('alice', 2, current_setting('tw.page1_last')::bigint)$$,
  $$select transaction_id from credits.ledger where account_id = 'alice' order by transaction_id desc offset 2 limit 2$$,
  'get_history page 2 of 3: the 2 rows before page 1''s last');
SELECT set_config('tw.page2_last', min(transaction_id)::text, true)
FROM credits.get_history('alice', 2, current_setting('tw.page1_last')::bigint);
SELECT results_eq(
  $$select kind, balance_after from credits.get_history('alice', 2, current_setting('tw.page2_last')::bigint)$$,
  $$values ('debit'::text, 5::numeric), ('grant', 6)$$,
  'get_history page 3 of 3: the oldest rows, ending with the signup grant');
SELECT is_empty(
  $$select * from credits.get_history('alice', 2,
      (select min(transaction_id) from credits.get_history('alice', 2, current_setting('tw.page2_last')::bigint)))$$,
  'get_history after the last page returns nothing');
SELECT is((select count(*)::int from credits.get_history('alice', 1000)), 6, 'get_history accepts a page size of 1000');
SELECT throws_ok($$select * from credits.get_history('alice', 0)$$, 'PT422', 'page_size must be between 1 and 1000, got 0',
                 'get_history refuses page_size 0 (PT422)');
SELECT throws_ok($$select * from credits.get_history('alice', 1001)$$, 'PT422', 'page_size must be between 1 and 1000, got 1001',
                 'get_history refuses page_size 1001 (PT422)');
SELECT throws_ok($$select * from credits.get_history('ghost')$$, 'PT404', 'unknown account ghost',
                 'get_history refuses an unknown account (PT404)');

-- as user alice -------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select credits.open_account('alice2')$$, '42501', 'permission denied for function open_account',
                 'a credits_user may not open an account');
SELECT throws_ok($$select credits.set_account_status('alice', 'active', 'me')$$, '42501', 'permission denied for function set_account_status',
                 'a credits_user may not change an account''s status');
SELECT is((select count(*)::int from credits.get_balance('alice')), 2, 'alice reads her own balance');
SELECT is((select count(*)::int from credits.get_history('alice')), 6, 'alice reads her own history');
SELECT throws_ok($$select * from credits.get_balance('bob')$$, '42501', 'caller may not act on account bob',
                 'alice may not read bob''s balance');
SELECT throws_ok($$select * from credits.get_history('bob')$$, '42501', 'caller may not act on account bob',
                 'alice may not read bob''s history');

-- as auditor ------------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select credits.open_account('audit_me')$$, '42501', 'permission denied for function open_account',
                 'a credits_auditor may not open an account');
SELECT throws_ok($$select credits.set_account_status('bob', 'closed', 'audit')$$, '42501', 'permission denied for function set_account_status',
                 'a credits_auditor may not change an account''s status');
SELECT is((select available from credits.get_balance('bob') where credit_type = 'credits'), 4::numeric,
          'a credits_auditor reads any account''s balance');

-- as service, weeks later -------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-10 12:00+00')::text;
SELECT results_eq(
  $$select period_start, period_end from credits.open_account('paul', timezone => 'Europe/Paris')$$,
  $$values ('2026-03-10 12:00+00'::timestamptz, '2026-04-10 11:00+00'::timestamptz)$$,
  'the period is counted in local time: 13:00 in Paris on Mar 10 (CET) renews at 13:00 on Apr 10 (CEST)');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select source, amount, starts_at, expires_at from credits_private.grants where account_id = 'pia' order by grant_id$$,
  $$values ('monthly'::text, 100::numeric, '2026-01-31 10:00+00'::timestamptz, '2026-02-28 10:00+00'::timestamptz),
           ('purchase', 10, '2026-01-31 11:00+00', null)$$,
  'pro''s monthly allowance is a grant that ends with the first period');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
