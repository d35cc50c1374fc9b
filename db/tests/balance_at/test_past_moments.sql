-- balance_at at moments worked out by hand (SPEC §2 Accounts and balances):
-- over alice's March (tests.alice_march(1, 11)), 0 before the opening, the
-- allowance at the opening instant, each grant, debit, void and refund to the
-- micro-credit; an ended grant's remainder is not counted even before its
-- expiry row is written; a period's allowance counts from the period's start
-- though the period was opened later; where nothing was left to settle it is
-- the ledger's last balance_after. Errors: PT422 for an empty id, a null or
-- future moment, PT404 for an unknown account; users read only their own
-- account (42501, even one that does not exist), the auditor any. balance_at
-- is STABLE and runs in a read-only transaction.

BEGIN;
SELECT plan(26);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

SELECT tests.alice_march(1, 11);

SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-10 11:59:59.999999+00')$$,
                  $$values ('analysis'::text, 0::numeric), ('credits', 0)$$,
                  'before the account was opened: 0 of every credit type');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-10 12:00+00')$$,
                  $$values ('analysis'::text, 0::numeric), ('credits', 100)$$,
                  'at the opening instant: the monthly allowance, 100');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-12 09:59:59.999999+00')$$,
                  $$values ('analysis'::text, 5::numeric), ('credits', 170.5)$$,
                  'a microsecond before the first debit: 100 + 20.5 + 50');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-12 10:00+00')$$,
                  $$values ('analysis'::text, 5::numeric), ('credits', 145.376544)$$,
                  'at the first debit: 170.5 - 25.123456');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-13 10:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 152.376543)$$,
                  'after the admin grant and the second debit: + 10 - 3.000001; analysis 5 - 2');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-14 10:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 145.376544)$$,
                  'after the void: the admin grant''s 6.999999 are gone');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-15 10:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 156.376546)$$,
                  'after the refunds: + 8.000001 + 3.000001');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-19 23:59:59.999999+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 154.376546)$$,
                  'a microsecond before the promo ends: its 3.376545 still count');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-20 00:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 151.000001)$$,
                  'when the promo ends: its remainder (20.5 - 20.5 + 3.376545) no longer counts, though its expiry row is dated 03-23');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-23 10:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 150.000001)$$,
                  'after the expiry row and a debit of 1');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-04-10 11:59:59.999999+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 150.000001)$$,
                  'a microsecond before the period ends: March''s allowance (100) and the purchase (50)');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-04-10 12:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 150.000001)$$,
                  'when the period ends: March''s 100 are gone, April''s 100 count (issued only on 04-13)');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-04-13 09:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 146.000001)$$,
                  'when April is opened and 4 are spent');
SELECT results_eq(
  $$select balance_after from credits.ledger where account_id = 'alice' and credit_type = 'credits'
    and created_at <= '2026-03-19 00:00+00' order by transaction_id desc limit 1$$,
  $$select available from credits.balance_at('alice', '2026-03-19 00:00+00') where credit_type = 'credits'$$,
  'where nothing was left to settle, balance_at is the ledger''s last balance_after');

-- as service: errors ------------------------------------------------------------------------
SELECT tests.travel('2026-06-20 12:00+00');
SELECT throws_ok($$select * from credits.balance_at('ghost', '2026-03-01 00:00+00')$$, 'PT404', 'unknown account ghost',
                 'balance_at: an unknown account raises PT404');
SELECT throws_ok($$select * from credits.balance_at('', '2026-03-01 00:00+00')$$, 'PT422', 'account_id is required',
                 'balance_at: an empty account id raises PT422');
SELECT throws_ok($$select * from credits.balance_at('alice', null)$$, 'PT422', 'at is required',
                 'balance_at: a null moment raises PT422');
SELECT throws_ok($$select * from credits.balance_at('alice', '2026-06-20 12:00:00.000001+00')$$, 'PT422',
                 format('at %s is in the future (now is %s)',
                        '2026-06-20 12:00:00.000001+00'::timestamptz,
                        credits.now()),
                 'balance_at: a moment after now raises PT422');

-- as user alice -------------------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-20 00:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 151.000001)$$,
                  'alice reads her own past balance');
SELECT throws_ok($$select * from credits.balance_at('bob', '2026-03-20 00:00+00')$$, '42501',
                 'caller may not act on account bob', 'alice may not read bob''s past balance');
SELECT throws_ok($$select * from credits.balance_at('nobody', '2026-03-20 00:00+00')$$, '42501',
                 'caller may not act on account nobody',
                 'alice naming an account that does not exist gets 42501, not PT404');

-- as credits_user without a sub ---------------------------------------------------------------
SELECT tests.act_as('credits_user');
SELECT throws_ok($$select * from credits.balance_at('alice', '2026-03-20 00:00+00')$$, '42501',
                 'caller may not act on account alice', 'a credits_user without a sub claim reads nobody''s balance');

-- as auditor ------------------------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT results_eq($$select * from credits.balance_at('alice', '2026-04-10 12:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 150.000001)$$,
                  'the auditor reads any account''s past balance');

-- as superuser: read-only ---------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is((select provolatile from pg_proc where oid = 'credits.balance_at(text, timestamptz)'::regprocedure),
          's'::"char", 'balance_at is STABLE');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');
SET LOCAL transaction_read_only = on;
SELECT results_eq($$select * from credits.balance_at('alice', '2026-03-20 00:00+00')$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 151.000001)$$,
                  'balance_at runs in a read-only transaction');

SELECT * FROM finish();
ROLLBACK;
