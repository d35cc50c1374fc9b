-- deduct_credits on an unlimited plan (ok, charged 0, the usage a 0-amount
-- debit row) and on a demo account (ok, charged 0, no transaction, no ledger
-- row, no event) (SPEC §2 Spending).

BEGIN;
SELECT plan(6);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open('sp_team', 'team');
SELECT tests.open('sp_demo', is_demo => true);

-- unlimited plan: ok, charged 0, a 0-amount debit row
INSERT INTO tests.charged SELECT 'team', * FROM credits.deduct_credits('sp_team', 'premium');
SELECT results_eq($$select ok, reason, transaction_id is not null, charged, available from tests.charged where label = 'team'$$,
                  $$values (true, null::text, true, 0::numeric, 0::numeric)$$,
                  'unlimited plan: ok, charged 0, with a transaction_id');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, feature from credits.ledger
    where transaction_id = (select transaction_id from tests.charged where label = 'team')$$,
  $$values ('debit'::text, 0::numeric, 0::numeric, 0::numeric, 'premium'::text)$$,
  'unlimited plan: the usage is a 0-amount debit ledger row');

-- demo account: ok, charged 0, nothing recorded
CREATE TEMP TABLE demo_before ON COMMIT DROP AS
  SELECT (SELECT count(*) FROM credits.ledger WHERE account_id = 'sp_demo') AS ledger_rows,
         (SELECT count(*) FROM credits.events WHERE account_id = 'sp_demo') AS events;
INSERT INTO tests.charged SELECT 'demo', * FROM credits.deduct_credits('sp_demo', 'video', '{"seconds": 100}');
SELECT results_eq($$select ok, reason, transaction_id, charged, available from tests.charged where label = 'demo'$$,
                  $$values (true, null::text, null::bigint, 0::numeric, 6::numeric)$$,
                  'demo account: ok, charged 0, no transaction');
SELECT is((select count(*) from credits.ledger where account_id = 'sp_demo'), (select ledger_rows from demo_before),
          'demo account: no ledger row');
SELECT is((select count(*) from credits.events where account_id = 'sp_demo'), (select events from demo_before),
          'demo account: no event');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
