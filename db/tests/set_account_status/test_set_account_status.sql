-- set_account_status (SPEC §2 Accounts and balances, §3 roles): suspended
-- and closed accounts are refused debits with account_inactive and keep their
-- credits, the refusals write no ledger row; reactivation charges again from
-- the credits kept. An unknown status or a missing reason is PT422, an
-- unknown account PT404, naming them; users and auditors may not change a
-- status (42501).

BEGIN;
SELECT plan(16);
SELECT tests.catalog();

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-01-31 10:00+00');
SELECT account_id FROM credits.open_account('bob');

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
SELECT throws_ok($$select credits.set_account_status('bob', 'frozen', 'why not')$$, 'PT422',
                 'invalid account status frozen', 'set_account_status refuses an unknown status (PT422)');
SELECT throws_ok($$select credits.set_account_status('bob', 'suspended', null)$$, 'PT422',
                 'a reason is required to change the status of account bob',
                 'set_account_status refuses a missing reason (PT422)');
SELECT throws_ok($$select credits.set_account_status('bob', 'suspended', '   ')$$, 'PT422',
                 'a reason is required to change the status of account bob',
                 'set_account_status refuses a blank reason (PT422)');
SELECT throws_ok($$select credits.set_account_status('ghost', 'suspended', 'fraud')$$, 'PT404', 'unknown account ghost',
                 'set_account_status refuses an unknown account (PT404)');

-- as user alice and auditor: not allowed -------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select credits.set_account_status('alice', 'active', 'me')$$, '42501',
                 'permission denied for function set_account_status',
                 'a credits_user may not change an account''s status');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select credits.set_account_status('bob', 'closed', 'audit')$$, '42501',
                 'permission denied for function set_account_status',
                 'a credits_auditor may not change an account''s status');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
