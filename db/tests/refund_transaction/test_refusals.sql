-- What refund_transaction refuses (SPEC §2 Corrections, §3 roles): a grant
-- row or a refund row (PT422: only debits and captures are refundable), a
-- missing or blank reason, amount 0 (PT422), an unknown transaction (PT404),
-- each naming it; only admins may refund (the service and a user, even for
-- her own debit, get 42501).

BEGIN;
SELECT plan(10);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts (6 signup credits each), grants and debits on 2026-03-10
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['cr_full', 'alice']) a;
INSERT INTO tests.ids SELECT 'full_promo', grant_id
  FROM credits.grant_credits('cr_full', 2, 'promo', expires_at => '2026-04-30 00:00+00');
INSERT INTO tests.ids SELECT 'full_debit', transaction_id FROM credits.deduct_credits('cr_full', 'video', '{"seconds": 8}');
INSERT INTO tests.ids SELECT 'alice_debit', transaction_id FROM credits.deduct_credits('alice', 'roast');

-- as admin: refund_transaction ------------------------------------------------------
SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'full_refund', refund_id FROM credits.refund_transaction(tests.id('full_debit'), 'render failed');
-- the ledger row of cr_full's signup grant
INSERT INTO tests.ids SELECT 'signup_row', transaction_id FROM credits.ledger
  WHERE account_id = 'cr_full' AND kind = 'grant' AND grant_id = tests.signup('cr_full');

-- invalid refunds
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('signup_row'), 'not a debit')$$, 'PT422',
                 format('transaction %s is a grant, not a debit or capture', tests.id('signup_row')),
                 'refund_transaction: a grant row is not refundable (PT422)');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('full_refund'), 'a refund of a refund')$$, 'PT422',
                 format('transaction %s is a refund, not a debit or capture', tests.id('full_refund')),
                 'refund_transaction: a refund row is not refundable (PT422)');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('alice_debit'), null)$$, 'PT422',
                 format('a reason is required to refund transaction %s', tests.id('alice_debit')),
                 'refund_transaction: a missing reason raises PT422');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('alice_debit'), '   ')$$, 'PT422',
                 format('a reason is required to refund transaction %s', tests.id('alice_debit')),
                 'refund_transaction: a blank reason raises PT422');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('alice_debit'), 'zero', 0)$$, 'PT422',
                 'amount must be above 0, got 0', 'refund_transaction: amount 0 raises PT422');
SELECT throws_ok($$select * from credits.refund_transaction(-1, 'no such transaction')$$, 'PT404',
                 'unknown transaction -1', 'refund_transaction: an unknown transaction raises PT404');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('alice_debit'), 'service tries')$$, '42501',
                 'permission denied for function refund_transaction', 'credits_service may not refund (42501)');

-- as user alice -----------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('alice_debit'), 'my own debit')$$, '42501',
                 'permission denied for function refund_transaction',
                 'alice may not refund even her own debit (42501)');

-- as superuser ------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT tests.ledger_is_chained();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
