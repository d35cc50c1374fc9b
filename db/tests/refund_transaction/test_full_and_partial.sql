-- refund_transaction (SPEC §1 grant/ledger, §2 Corrections): a full refund
-- is a refund row of the debit with its reason and actor, giving each grant
-- that paid exactly what it paid; partial refunds in several steps never
-- exceed the charge (PT409 beyond, naming the transaction), the default
-- amount is what is left. Every correction file ends with
-- tests.ledger_is_chained(): no gap in any balance_before/after chain.

BEGIN;
SELECT plan(13);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts (6 signup credits each), grants and debits on 2026-03-10
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['cr_full', 'cr_part']) a;
INSERT INTO tests.ids SELECT 'full_promo', grant_id
  FROM credits.grant_credits('cr_full', 2, 'promo', expires_at => '2026-04-30 00:00+00');
INSERT INTO tests.ids SELECT 'full_debit', transaction_id FROM credits.deduct_credits('cr_full', 'video', '{"seconds": 8}');
INSERT INTO tests.ids SELECT 'part_debit', transaction_id FROM credits.deduct_credits('cr_part', 'roast', amount => 5);

SELECT results_eq($$select grant_id, amount from tests.draws(tests.id('full_debit')) order by grant_id$$,
                  $$values (tests.signup('cr_full'), 2::numeric), (tests.id('full_promo'), 2)$$,
                  'setup: the 4-credit video debit drew 2 from the expiring promo and 2 from the signup grant');
-- as admin: refund_transaction ------------------------------------------------------
SELECT tests.act_as('credits_admin');

-- a full refund returns exactly the draws to the same grants
INSERT INTO tests.ids SELECT 'full_refund', refund_id FROM credits.refund_transaction(tests.id('full_debit'), 'render failed');
SELECT results_eq(
  $$select kind, amount, refund_of, balance_before, balance_after, feature, reason, actor
    from credits.ledger where transaction_id = tests.id('full_refund')$$,
  $$values ('refund'::text, 4::numeric, tests.id('full_debit'), 4::numeric, 8::numeric, 'video'::text,
            'render failed'::text, 'credits_admin'::text)$$,
  'full refund: refund_id is a +4 refund row of the debit, balance 4 -> 8, with its reason and actor');
SELECT results_eq($$select grant_id, of_grant_id, amount from tests.draws(tests.id('full_refund')) order by grant_id$$,
                  $$select grant_id, grant_id, amount from tests.draws(tests.id('full_debit')) order by grant_id$$,
                  'full refund: each grant that paid gets back exactly what it paid');
SELECT results_eq($$select available, buckets from credits.get_balance('cr_full') where credit_type = 'credits'$$,
                  $$values (8::numeric, '{"promo": 2, "signup": 6}'::jsonb)$$,
                  'full refund: the promo and signup grants are whole again');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('full_debit'), 'again')$$, 'PT409',
                 format('cannot refund 0.000000 of transaction %s: 4.000000 was charged, 0.000000 is still refundable',
                        tests.id('full_debit')),
                 'full refund: refunding the same debit again raises PT409');

-- partial refunds in several steps never exceed the charge
SELECT results_eq($$select available from credits.refund_transaction(tests.id('part_debit'), 'partial 1', 2)$$,
                  $$values (3::numeric)$$, 'partial refund: 2 of 5 back, 3 available');
SELECT results_eq($$select available from credits.refund_transaction(tests.id('part_debit'), 'partial 2', 2)$$,
                  $$values (5::numeric)$$, 'partial refund: 2 more back, 5 available');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('part_debit'), 'partial 3', 2)$$, 'PT409',
                 format('cannot refund 2 of transaction %s: 5.000000 was charged, 1.000000 is still refundable',
                        tests.id('part_debit')),
                 'partial refund: 2 more when only 1 is left raises PT409');
INSERT INTO tests.ids SELECT 'part_rest', refund_id FROM credits.refund_transaction(tests.id('part_debit'), 'the rest');
SELECT results_eq($$select amount, balance_after from credits.ledger where transaction_id = tests.id('part_rest')$$,
                  $$values (1::numeric, 6::numeric)$$,
                  'partial refund: without an amount, what is left (1) is refunded');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('part_debit'), 'nothing left')$$, 'PT409',
                 format('cannot refund 0.000000 of transaction %s: 5.000000 was charged, 0.000000 is still refundable',
                        tests.id('part_debit')),
                 'partial refund: once all is refunded, a default refund raises PT409');
SELECT results_eq($$select count(*), sum(amount) from credits.ledger where refund_of = tests.id('part_debit')$$,
                  $$values (3::bigint, 5::numeric)$$,
                  'partial refund: three refunds adding up to exactly the 5 charged');

-- as superuser ------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT tests.ledger_is_chained();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
