-- The admin makes the corrections the service may not (a refund, its actor
-- credits_admin), and the ledger is append-only (SPEC §3): UPDATE, DELETE and
-- TRUNCATE are refused for the superuser and for the owner (its UPDATE and
-- DELETE change no row: its policies give it none, and were one added the
-- trigger must still refuse), each naming the statement. The accounts:
-- tests.alice_and_bob().

BEGIN;
SELECT plan(8);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.alice_and_bob();

-- as admin ----------------------------------------------------------------------------
SELECT tests.act_as('credits_admin');

SELECT is((SELECT available FROM credits.refund_transaction(
             (SELECT transaction_id FROM credits.ledger WHERE account_id = 'bob' AND kind = 'debit' AND feature = 'video'),
             'render failed')), 14::numeric, 'admin refunds bob''s video: 12 + 2');
SELECT is((SELECT actor FROM credits.ledger WHERE account_id = 'bob' AND kind = 'refund'), 'credits_admin',
          'the actor of an admin refund without a sub is credits_admin');

-- as superuser: the ledger is append-only --------------------------------------------
SELECT tests.act_as_superuser();

SELECT throws_ok('UPDATE credits_private.ledger_entries SET amount = 0', '42501',
                 'the ledger is append-only: UPDATE is not allowed on credits ledger rows',
                 'the superuser may not UPDATE the ledger');
SELECT throws_ok('DELETE FROM credits_private.ledger_entries', '42501',
                 'the ledger is append-only: DELETE is not allowed on credits ledger rows',
                 'the superuser may not DELETE from the ledger');
SELECT throws_ok('TRUNCATE credits_private.ledger_entries CASCADE', '42501',
                 'the ledger is append-only: TRUNCATE is not allowed on credits ledger rows',
                 'the superuser may not TRUNCATE the ledger, even with CASCADE past the holds that reference it');

-- as credits_owner: UPDATE and DELETE must change nothing (its policies give
-- it no row to change; were one added, the trigger must still refuse), and
-- TRUNCATE, which no policy filters, is refused by the trigger.
CREATE TEMPORARY TABLE ledger_before ON COMMIT DROP AS SELECT * FROM credits_private.ledger_entries;
SELECT set_config('role', 'credits_owner', true);
DO $$
BEGIN
  UPDATE credits_private.ledger_entries SET amount = 0;
EXCEPTION WHEN insufficient_privilege THEN NULL;
END
$$;
DO $$
BEGIN
  DELETE FROM credits_private.ledger_entries;
EXCEPTION WHEN insufficient_privilege THEN NULL;
END
$$;
SELECT throws_ok('TRUNCATE credits_private.ledger_entries CASCADE', '42501',
                 'the ledger is append-only: TRUNCATE is not allowed on credits ledger rows',
                 'the owner may not TRUNCATE the ledger');
SELECT tests.act_as_superuser();
SELECT results_eq('SELECT * FROM credits_private.ledger_entries ORDER BY entry_id',
                  'SELECT * FROM ledger_before ORDER BY entry_id',
                  'UPDATE and DELETE as the owner changed no ledger row');

SELECT is_empty('SELECT * FROM credits.reconciliation', 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
