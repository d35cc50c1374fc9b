-- refund_transaction with account_id (the contract §4: the transaction's
-- account, required on Citus, optional on a single node): naming the
-- debit's account refunds it as without; naming another account is PT404
-- 'unknown transaction', as for one that does not exist, and refunds nothing.

BEGIN;
SELECT plan(4);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['ra_own', 'ra_other']) a;
INSERT INTO tests.ids SELECT 'ra_debit', transaction_id FROM credits.deduct_credits('ra_own', 'roast', amount => 4);

SELECT tests.act_as('credits_admin');
SELECT throws_ok(format('select * from credits.refund_transaction(%s, %L, account_id => %L)',
                        tests.id('ra_debit'), 'oops', 'ra_other'),
                 'PT404', format('unknown transaction %s', tests.id('ra_debit')),
                 'refund_transaction naming another account than the debit''s is PT404, as an unknown transaction');
SELECT is((select count(*) from credits.ledger where kind = 'refund' and account_id in ('ra_own', 'ra_other')),
          0::bigint, 'the refused refund wrote no refund row');
SELECT is((select available from credits.refund_transaction(tests.id('ra_debit'), 'oops', 3, 'ra_own')), 5::numeric,
          'refund_transaction naming the debit''s account refunds it (3 of 4: 2 -> 5)');
SELECT is((select available from tests.bal('ra_other')), 6::numeric, 'the other account kept its 6');

SELECT * FROM finish();
ROLLBACK;
