-- Lazy expiry (SPEC §1 grant, the lazy settling rule): a grant that ended
-- stops counting at once in get_balance and check_feature (draws skip it),
-- reading writes nothing, and the next debit first writes its `expiry` row,
-- then the debit, with no gap in the balance_before/after chain.

BEGIN;
SELECT plan(8);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts (6 signup credits each), grants and debits on 2026-03-10
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['ex_lazy']) a;
INSERT INTO tests.ids SELECT 'lazy_promo', grant_id
  FROM credits.grant_credits('ex_lazy', 4, 'promo', expires_at => '2026-03-20 00:00+00');
INSERT INTO tests.ids SELECT 'lazy_debit1', transaction_id FROM credits.deduct_credits('ex_lazy', 'roast');

-- as service, 2026-03-21: lazy expiry ------------------------------------------------------
-- ex_lazy: signup 6 and a promo of 4 (ended 03-20), of which a debit took 1
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-21 12:00+00');
SELECT results_eq($$select available, buckets from credits.get_balance('ex_lazy') where credit_type = 'credits'$$,
                  $$values (6::numeric, '{"signup": 6}'::jsonb)$$,
                  'lazy expiry: get_balance no longer counts the ended promo''s 3');
SELECT results_eq($$select allowed, reason, cost, available from credits.check_feature('ex_lazy', 'video', '{"seconds": 14}')$$,
                  $$values (false, 'insufficient_credits'::text, 7::numeric, 6::numeric)$$,
                  'lazy expiry: check_feature sees 6 available, so 7 is insufficient_credits');
SELECT results_eq($$select draws from credits.check_feature('ex_lazy', 'roast')$$,
                  $$values (jsonb_build_array(jsonb_build_object('grant_id', tests.signup('ex_lazy'),
                                                                 'source', 'signup', 'amount', 1)))$$,
                  'lazy expiry: check_feature would draw from the signup grant, not the ended promo');
SELECT is((select count(*) from credits.ledger where account_id = 'ex_lazy' and kind = 'expiry'), 0::bigint,
          'lazy expiry: reading wrote nothing: no expiry row yet');
INSERT INTO tests.ids SELECT 'lazy_debit2', transaction_id FROM credits.deduct_credits('ex_lazy', 'roast');
SELECT results_eq($$select kind, amount, grant_id, balance_before, balance_after from credits.ledger
                    where account_id = 'ex_lazy' order by transaction_id$$,
                  $$values ('grant'::text, 6::numeric, tests.signup('ex_lazy'), 0::numeric, 6::numeric),
                           ('grant', 4, tests.id('lazy_promo'), 6, 10),
                           ('debit', -1, null, 10, 9),
                           ('expiry', -3, tests.id('lazy_promo'), 9, 6),
                           ('debit', -1, null, 6, 5)$$,
                  'lazy expiry: the next debit first writes the promo''s -3 expiry row, then debits 6 -> 5');
SELECT results_eq($$select grant_id, amount from tests.draws(tests.id('lazy_debit2'))$$,
                  $$values (tests.signup('ex_lazy'), 1::numeric)$$,
                  'lazy expiry: the debit drew from the signup grant');

-- as superuser ------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT tests.ledger_is_chained();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
