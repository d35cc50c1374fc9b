-- Periods per actor (SPEC §3): users read their rolled period (get_balance)
-- but may not call get_or_create_active_period, even for their own account,
-- nor read another's balance (42501 naming it); the auditor reads any
-- period but may not call it; the refused calls and the reads open nothing.
-- An unknown account PT404, an empty id PT422.

BEGIN;
SELECT plan(10);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- alice: a pro account whose period rolled over
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('alice', 'pro');
SELECT account_id FROM credits.open_account('bob', 'pro');
SELECT tests.travel('2026-04-11 09:00+00');
SELECT throws_ok($$select * from credits.get_or_create_active_period('ghost')$$, 'PT404', 'unknown account ghost',
                 'get_or_create_active_period refuses an unknown account (PT404)');
SELECT throws_ok($$select * from credits.get_or_create_active_period('')$$, 'PT422', 'account_id is required',
                 'get_or_create_active_period refuses an empty account id (PT422)');

-- as user alice ---------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT results_eq(
  $$select available, granted_this_period, used_this_period, period_start, period_end
    from credits.get_balance('alice') where credit_type = 'credits'$$,
  $$values (100::numeric, 100::numeric, 0::numeric, '2026-04-10 12:00+00'::timestamptz, '2026-05-10 12:00+00'::timestamptz)$$,
  'alice''s get_balance shows her rolled period with its allowance');
SELECT throws_ok($$select * from credits.get_or_create_active_period('alice')$$, '42501',
                 'permission denied for function get_or_create_active_period',
                 'alice may not call get_or_create_active_period, even for her own account (service and admin only)');
SELECT throws_ok($$select * from credits.get_or_create_active_period('bob')$$, '42501',
                 'permission denied for function get_or_create_active_period',
                 'alice may not call get_or_create_active_period for bob');
SELECT throws_ok($$select * from credits.get_balance('bob')$$, '42501', 'caller may not act on account bob',
                 'alice may not read bob''s rolled balance');

-- as auditor --------------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.get_or_create_active_period('alice')$$, '42501',
                 'permission denied for function get_or_create_active_period',
                 'a credits_auditor may not call get_or_create_active_period');
SELECT is((select period_start from credits.get_balance('alice') where credit_type = 'credits'),
          '2026-04-10 12:00+00'::timestamptz, 'the auditor reads alice''s rolled period');

-- as service --------------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT results_eq(
  $$select period_start from credits.accounts where account_id = 'alice'$$,
  $$values ('2026-03-10 12:00+00'::timestamptz)$$,
  'the refused calls and the reads did not open alice''s period');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();

SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
