-- get_history (SPEC §2 Accounts and balances, §3 roles): the account's own
-- ledger rows, newest first, in keyset pages (page_size, before a
-- transaction_id) of 1 to 1000 rows (PT422 otherwise, naming it); unknown
-- account PT404; a user reads only her own history (42501 naming the other).

BEGIN;
SELECT plan(12);
SELECT tests.catalog();

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-01-31 10:00+00');
SELECT tests.open(a) FROM unnest(array['alice', 'bob']) a;

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
SELECT throws_ok($$select * from credits.get_history('alice', 0)$$, 'PT422',
                 'page_size must be between 1 and 1000, got 0', 'get_history refuses page_size 0 (PT422)');
SELECT throws_ok($$select * from credits.get_history('alice', 1001)$$, 'PT422',
                 'page_size must be between 1 and 1000, got 1001', 'get_history refuses page_size 1001 (PT422)');
SELECT throws_ok($$select * from credits.get_history('ghost')$$, 'PT404', 'unknown account ghost',
                 'get_history refuses an unknown account (PT404)');

-- as user alice ---------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT is((select count(*)::int from credits.get_history('alice')), 6, 'alice reads her own history');
SELECT throws_ok($$select * from credits.get_history('bob')$$, '42501', 'caller may not act on account bob',
                 'alice may not read bob''s history');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
