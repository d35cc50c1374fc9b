-- refund_transaction to grants that ended (SPEC §1 grant, §2 Corrections):
-- credits whose grant has since been voided or has expired come back as a
-- new `refund` grant (a refund bucket), those of a grant still running go
-- back to it; one refund row either way.

BEGIN;
SELECT plan(8);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts (6 signup credits each), grants and debits on 2026-03-10
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['cr_exp', 'cr_void']) a;
INSERT INTO tests.ids SELECT 'exp_promo', grant_id
  FROM credits.grant_credits('cr_exp', 3, 'promo', expires_at => '2026-03-15 00:00+00');
INSERT INTO tests.ids SELECT 'exp_debit', transaction_id FROM credits.deduct_credits('cr_exp', 'roast', amount => 5);
INSERT INTO tests.ids SELECT 'void_grant', grant_id
  FROM credits.grant_credits('cr_void', 4, 'admin', priority => 50, reason => 'goodwill');
INSERT INTO tests.ids SELECT 'void_debit', transaction_id FROM credits.deduct_credits('cr_void', 'roast', amount => 3);

-- as admin: refund_transaction ------------------------------------------------------
SELECT tests.act_as('credits_admin');
-- a refund to a voided grant becomes a new refund grant
SELECT is((select voided from credits.void_grant(tests.id('void_grant'), 'goodwill withdrawn')), 1::numeric,
          'refund to a voided grant: the grant that paid 3 of its 4 is voided (1 left)');
INSERT INTO tests.ids SELECT 'void_refund', refund_id FROM credits.refund_transaction(tests.id('void_debit'), 'job lost');
SELECT results_eq(
  $$select of_grant_id, grant_id <> of_grant_id, amount from tests.draws(tests.id('void_refund'))$$,
  $$values (tests.id('void_grant'), true, 3::numeric)$$,
  'refund to a voided grant: the 3 it paid go to a new grant, not back to the voided one');
SELECT results_eq($$select available, buckets from credits.get_balance('cr_void') where credit_type = 'credits'$$,
                  $$values (9::numeric, '{"refund": 3, "signup": 6}'::jsonb)$$,
                  'refund to a voided grant: 3 in a refund bucket, 9 available');

-- as admin, 2026-03-20: a refund to a grant that has since expired --------------------------
SELECT tests.act_as('credits_admin');
SELECT tests.travel('2026-03-20 12:00+00');
-- cr_exp's 5 were drawn 3 from the promo that ended on 03-15, then 2 from the signup grant
INSERT INTO tests.ids SELECT 'exp_refund', refund_id FROM credits.refund_transaction(tests.id('exp_debit'), 'outage');
SELECT results_eq(
  $$select of_grant_id, grant_id = of_grant_id, amount from tests.draws(tests.id('exp_refund')) order by of_grant_id$$,
  $$values (tests.signup('cr_exp'), true, 2::numeric), (tests.id('exp_promo'), false, 3)$$,
  'refund to an expired grant: the signup grant gets its 2 back, the expired promo''s 3 go to a new grant');
SELECT results_eq($$select available, buckets from credits.get_balance('cr_exp') where credit_type = 'credits'$$,
                  $$values (9::numeric, '{"refund": 3, "signup": 6}'::jsonb)$$,
                  'refund to an expired grant: 3 in a refund bucket, 9 available');
SELECT results_eq($$select amount, balance_before, balance_after from credits.ledger
                    where transaction_id = tests.id('exp_refund')$$,
                  $$values (5::numeric, 4::numeric, 9::numeric)$$,
                  'refund to an expired grant: one +5 refund row, balance 4 -> 9');

-- as superuser ------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT tests.ledger_is_chained();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
