-- void_grant (SPEC §1 grant/ledger, §2 Corrections, §3 roles): it voids what
-- is left of a grant (a `void` ledger row with its reason, the balance drops)
-- and returns it; voiding twice returns 0 and writes no second row. An
-- unknown grant PT404, a missing reason PT422, each naming it; only admins
-- may void (the service and a user, even for her own grant, get 42501).

BEGIN;
SELECT plan(12);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts (6 signup credits each), grants and debits on 2026-03-10
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['vd_main', 'alice']) a;
INSERT INTO tests.ids SELECT 'vd_promo', grant_id FROM credits.grant_credits('vd_main', 5, 'promo', priority => 10);
INSERT INTO tests.ids SELECT 'vd_debit', transaction_id FROM credits.deduct_credits('vd_main', 'roast', amount => 2);

-- as admin: refund_transaction ------------------------------------------------------
SELECT tests.act_as('credits_admin');
-- as admin: void_grant ----------------------------------------------------------------
-- vd_main: signup 6 and a priority-10 promo of 5, of which the debit took 2
SELECT is((select voided from credits.void_grant(tests.id('vd_promo'), 'promo abuse')), 3::numeric,
          'void_grant returns what was left of the grant (3 of 5)');
SELECT results_eq(
  $$select kind, amount, grant_id, balance_before, balance_after, reason from credits.ledger
    where account_id = 'vd_main' and kind = 'void'$$,
  $$values ('void'::text, -3::numeric, tests.id('vd_promo'), 9::numeric, 6::numeric, 'promo abuse'::text)$$,
  'void_grant writes a -3 void ledger row for the grant, balance 9 -> 6, with its reason');
SELECT results_eq($$select available, buckets from credits.get_balance('vd_main') where credit_type = 'credits'$$,
                  $$values (6::numeric, '{"signup": 6}'::jsonb)$$,
                  'void_grant: the balance drops to the signup grant alone');
SELECT is((select voided from credits.void_grant(tests.id('vd_promo'), 'again')), 0::numeric,
          'void_grant: voiding twice returns 0');
SELECT is((select count(*) from credits.ledger where account_id = 'vd_main' and kind = 'void'), 1::bigint,
          'void_grant: voiding twice writes no second void row');
SELECT throws_ok($$select * from credits.void_grant(-1, 'no such grant')$$, 'PT404', 'unknown grant -1',
                 'void_grant: an unknown grant raises PT404');
SELECT throws_ok($$select * from credits.void_grant(tests.signup('vd_main'), null)$$, 'PT422',
                 format('a reason is required to void grant %s', tests.signup('vd_main')),
                 'void_grant: a missing reason raises PT422');
SELECT throws_ok($$select * from credits.void_grant(tests.signup('vd_main'), '')$$, 'PT422',
                 format('a reason is required to void grant %s', tests.signup('vd_main')),
                 'void_grant: an empty reason raises PT422');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT throws_ok($$select * from credits.void_grant(tests.signup('alice'), 'service tries')$$, '42501',
                 'permission denied for function void_grant', 'credits_service may not void a grant (42501)');

-- as user alice -----------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select * from credits.void_grant(tests.signup('alice'), 'my own grant')$$, '42501',
                 'permission denied for function void_grant', 'alice may not void even her own grant (42501)');

-- as superuser ------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT tests.ledger_is_chained();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
