-- balance_at of an idle account that skips months (SPEC §1 period, §2):
-- months later, before any call, balance_at(now) = get_balance; after June
-- is opened (two allowances: January's and June's) the readings of March (a
-- skipped period) and June are unchanged, and in February the allowance of
-- the next opening counts.

BEGIN;
SELECT plan(5);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- as service: an idle account skips months ----------------------------------------------
SELECT tests.travel('2026-01-05 09:00+00');
SELECT account_id FROM credits.open_account('idle', 'pro');
SELECT tests.travel('2026-03-15 09:00+00');
SELECT tests.see('idle');
SELECT tests.travel('2026-06-20 12:00+00');
SELECT tests.see('idle');
SELECT results_eq($$select * from credits.balance_at('idle', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('idle')$$,
                  'idle account, months later, before any call: balance_at(now) = get_balance');
SELECT '' FROM credits.get_or_create_active_period('idle');
SELECT is((select count(*)::int from credits.ledger where account_id = 'idle' and kind = 'grant'), 2,
          'guard: the idle account has two allowances, January''s and June''s (the months between were skipped)');
SELECT is_empty($$
  select s.at, s.credit_type, s.available, b.available
  from tests.seen s
  left join lateral credits.balance_at(s.account_id, s.at) b on b.credit_type = s.credit_type
  where s.account_id = 'idle' and b.available is distinct from s.available
$$, 'idle account: after June is opened, the readings of March (a skipped period) and June are unchanged');
SELECT results_eq($$select * from credits.balance_at('idle', '2026-02-10 00:00+00')$$,
                  $$values ('analysis'::text, 0::numeric), ('credits', 100)$$,
                  'idle account in February (a skipped period): January''s allowance ended, the allowance of the next opening counts');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
