-- balance_at(account, now) is get_balance (SPEC §2 Accounts and balances,
-- the lazy settling rule): over one account, alice (pro, 100 credits a month,
-- opened Mar 10 12:00 UTC), step by step with amounts to the micro-credit (a
-- promo that expires, a purchase, an admin grant that is voided, debits
-- spanning grants, a refund to live grants and one to a voided grant, a
-- second credit type, an expiry left unsettled for days, a period that ends
-- with nobody calling and is opened two days later), balance_at(now) equals
-- get_balance at each moment; and at the end, balance_at(moment) still gives
-- what get_balance said at every moment kept (tests.see). The steps of
-- alice's March: tests.alice_march(step) in helpers.sql.

BEGIN;
SELECT plan(11);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

SELECT tests.alice_march(1);
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'at opening: balance_at(now) = get_balance (one row per credit type)');

SELECT tests.alice_march(2, 4);
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'after grants and debits: balance_at(now) = get_balance');

SELECT tests.alice_march(5, 6);
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'after a void and two refunds (one to a new refund grant): balance_at(now) = get_balance');

SELECT tests.alice_march(7);

-- the promo ended on 03-20 00:00 with 3.376545 left; nobody calls until 03-23
SELECT tests.alice_march(8);
SELECT is((select count(*)::int from credits.ledger where account_id = 'alice' and kind = 'expiry'), 0,
          'on 03-22 the promo''s expiry is not written yet (no expiry ledger row)');
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'with an ended grant not yet settled: balance_at(now) = get_balance');
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$values ('analysis'::text, 3::numeric), ('credits', 151.000001)$$,
                  'with an ended grant not yet settled: balance_at(now) leaves out its 3.376545 (151.000001)');

SELECT tests.alice_march(9);

-- the period ends on 04-10 12:00 with nobody calling; opened on 04-13
SELECT tests.alice_march(10);
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'in a period not opened yet: balance_at(now) = get_balance (the pending allowance counted)');
SELECT tests.alice_march(11);
SELECT results_eq($$select * from credits.balance_at('alice', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('alice')$$,
                  'after the period is opened: balance_at(now) = get_balance');

-- as service, on 04-13: every kept moment read back ------------------------------------
SELECT is((select count(*)::int from tests.seen where account_id = 'alice'), 22,
          'guard: 11 moments of alice were kept, 2 credit types each');
SELECT is_empty($$
  select s.at, s.credit_type, s.available, b.available
  from tests.seen s
  left join lateral credits.balance_at(s.account_id, s.at) b on b.credit_type = s.credit_type
  where s.account_id = 'alice' and b.available is distinct from s.available
$$, 'at every kept moment, balance_at now gives what get_balance said then');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
