-- open_account (SPEC §1 account/period, §2 Accounts and balances, §3 roles):
-- the new account it returns (free, active, UTC, anchored now), the signup
-- grant in the same call, the metadata it is given; a pro account gets its
-- monthly allowance as a grant; the first period is monthly from the billing
-- anchor in the account's time zone, the day clamped to the month's end, its
-- local time kept across DST. Errors PT404 (plan) and PT422 (id, time zone,
-- metadata), naming the value, leaving no account behind; users and auditors
-- cannot open (42501). Opening an existing account: test_existing_account.sql.

BEGIN;
SELECT plan(20);
SELECT tests.catalog();

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- Opened at 2026-01-30 23:30 UTC, which is already Jan 31 00:30 in Paris: the
-- Paris account renews on (local) Feb 28, the UTC one on Feb 28 (clamped Jan 30 + 1 month).
SELECT tests.travel('2026-01-30 23:30+00');
SELECT results_eq(
  $$select billing_anchor, period_start, period_end from credits.open_account('pierre', timezone => 'Europe/Paris')$$,
  $$values ('2026-01-30 23:30+00'::timestamptz, '2026-01-30 23:30+00'::timestamptz, '2026-02-27 23:30+00'::timestamptz)$$,
  'Europe/Paris account opened Jan 31 00:30 local: first period ends Feb 28 00:30 local (Feb 27 23:30 UTC)');
SELECT results_eq(
  $$select timezone, period_end from credits.open_account('uma')$$,
  $$values ('UTC'::text, '2026-02-28 23:30+00'::timestamptz)$$,
  'UTC account opened Jan 30 23:30: first period ends Feb 28 23:30 UTC');

SELECT tests.travel('2026-01-31 10:00+00');
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

SELECT throws_ok($$select credits.open_account('ghost', 'platinum')$$, 'PT404', 'unknown plan platinum',
                 'open_account refuses an unknown plan (PT404)');
SELECT throws_ok($$select credits.open_account('')$$, 'PT422', 'account_id must be 1 to 200 characters, got ''''',
                 'open_account refuses an empty account_id (PT422)');
SELECT throws_ok($$select credits.open_account(null)$$, 'PT422', 'account_id must be 1 to 200 characters, got null',
                 'open_account refuses a null account_id (PT422)');
SELECT throws_ok($$select credits.open_account('ghost', timezone => 'Mars/Olympus_Mons')$$, 'PT422',
                 'unknown time zone Mars/Olympus_Mons', 'open_account refuses an unknown time zone (PT422)');
SELECT throws_ok($$select credits.open_account('ghost', timezone => '')$$, 'PT422', 'unknown time zone ',
                 'open_account refuses an empty time zone (PT422)');
SELECT throws_ok($$select credits.open_account('ghost', metadata => '["vip"]')$$, 'PT422',
                 'metadata must be a JSON object, got ["vip"]',
                 'open_account refuses metadata that is not a JSON object (PT422)');
SELECT throws_ok($$select credits.open_account('ghost', metadata => null)$$, 'PT422',
                 'metadata must be a JSON object, got null', 'open_account refuses null metadata (PT422)');
SELECT is((select count(*)::int from credits.accounts where account_id = 'ghost'), 0,
          'no refused open_account left an account behind');

-- as service, weeks later -------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-10 12:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.open_account('paul', timezone => 'Europe/Paris')$$,
  $$values ('2026-03-10 12:00+00'::timestamptz, '2026-04-10 11:00+00'::timestamptz)$$,
  'the period is counted in local time: 13:00 in Paris on Mar 10 (CET) renews at 13:00 on Apr 10 (CEST)');

-- as user alice and auditor: not allowed -------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select credits.open_account('alice2')$$, '42501', 'permission denied for function open_account',
                 'a credits_user may not open an account');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select credits.open_account('audit_me')$$, '42501', 'permission denied for function open_account',
                 'a credits_auditor may not open an account');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
