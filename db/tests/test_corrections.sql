-- Corrections and expiry: refund_transaction, void_grant, expire_grants and
-- lazy expiry (SPEC §1 grant/ledger, §2 Corrections and Maintenance, §3 roles).
--
-- refund_transaction: a full refund gives exactly the debit's draws back to
-- the same grants; partial refunds never exceed the charge (PT409 beyond);
-- the default amount is what is left; credits whose grant has since expired
-- or been voided come back as a new `refund` grant; PT422 for a grant row or
-- a missing reason, PT404 for an unknown transaction; only admins (42501).
-- void_grant: voids the remainder (a `void` row, the balance drops), twice
-- returns 0; PT404, PT422, 42501. Expiry: an ended grant stops counting at
-- once in get_balance and check_feature, the next debit settles it (an
-- `expiry` row) with no gap in the balance_before/after chain, and
-- expire_grants() settles untouched accounts and says how many grants ended.
-- Ids are kept by label in tests.ids (tests.id(label), db/tests/helpers.sql).

BEGIN;
SELECT plan(48);
SELECT '' FROM tests.catalog();  -- '' rather than the SQL function's null: TAP lines must be text
SELECT tests.travel('2026-03-10 12:00+00')::text;


-- as service: accounts (6 signup credits each), grants and debits on 2026-03-10
SELECT tests.act_as('credits_service');
SELECT o.account_id
FROM unnest(array['cr_full', 'cr_part', 'cr_exp', 'cr_void', 'vd_main', 'ex_lazy', 'ex_a', 'ex_b', 'alice']) a,
     credits.open_account(a) o;
INSERT INTO tests.ids SELECT 'full_promo', grant_id
  FROM credits.grant_credits('cr_full', 2, 'promo', expires_at => '2026-04-30 00:00+00');
INSERT INTO tests.ids SELECT 'full_debit', transaction_id FROM credits.deduct_credits('cr_full', 'video', '{"seconds": 8}');
INSERT INTO tests.ids SELECT 'part_debit', transaction_id FROM credits.deduct_credits('cr_part', 'roast', amount => 5);
INSERT INTO tests.ids SELECT 'exp_promo', grant_id
  FROM credits.grant_credits('cr_exp', 3, 'promo', expires_at => '2026-03-15 00:00+00');
INSERT INTO tests.ids SELECT 'exp_debit', transaction_id FROM credits.deduct_credits('cr_exp', 'roast', amount => 5);
INSERT INTO tests.ids SELECT 'void_grant', grant_id
  FROM credits.grant_credits('cr_void', 4, 'admin', priority => 50, reason => 'goodwill');
INSERT INTO tests.ids SELECT 'void_debit', transaction_id FROM credits.deduct_credits('cr_void', 'roast', amount => 3);
INSERT INTO tests.ids SELECT 'vd_promo', grant_id FROM credits.grant_credits('vd_main', 5, 'promo', priority => 10);
INSERT INTO tests.ids SELECT 'vd_debit', transaction_id FROM credits.deduct_credits('vd_main', 'roast', amount => 2);
INSERT INTO tests.ids SELECT 'lazy_promo', grant_id
  FROM credits.grant_credits('ex_lazy', 4, 'promo', expires_at => '2026-03-20 00:00+00');
INSERT INTO tests.ids SELECT 'lazy_debit1', transaction_id FROM credits.deduct_credits('ex_lazy', 'roast');
SELECT grant_id::text FROM credits.grant_credits('ex_a', 2, 'promo', expires_at => '2026-03-25 00:00+00');
SELECT grant_id::text FROM credits.grant_credits('ex_b', 3, 'promo', expires_at => '2026-03-25 00:00+00');
SELECT grant_id::text FROM credits.grant_credits('ex_b', 5, 'promo', 'analysis', expires_at => '2026-03-26 00:00+00');
INSERT INTO tests.ids SELECT 'alice_debit', transaction_id FROM credits.deduct_credits('alice', 'roast');

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
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('full_debit'), 'again')$$, 'PT409', format('cannot refund 0.000000 of transaction %s: 4.000000 was charged, 0.000000 is still refundable', tests.id('full_debit')),
                 'full refund: refunding the same debit again raises PT409');

-- partial refunds in several steps never exceed the charge
SELECT results_eq($$select available from credits.refund_transaction(tests.id('part_debit'), 'partial 1', 2)$$,
                  $$values (3::numeric)$$, 'partial refund: 2 of 5 back, 3 available');
SELECT results_eq($$select available from credits.refund_transaction(tests.id('part_debit'), 'partial 2', 2)$$,
                  $$values (5::numeric)$$, 'partial refund: 2 more back, 5 available');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('part_debit'), 'partial 3', 2)$$, 'PT409', format('cannot refund 2 of transaction %s: 5.000000 was charged, 1.000000 is still refundable', tests.id('part_debit')),
                 'partial refund: 2 more when only 1 is left raises PT409');
INSERT INTO tests.ids SELECT 'part_rest', refund_id FROM credits.refund_transaction(tests.id('part_debit'), 'the rest');
SELECT results_eq($$select amount, balance_after from credits.ledger where transaction_id = tests.id('part_rest')$$,
                  $$values (1::numeric, 6::numeric)$$,
                  'partial refund: without an amount, what is left (1) is refunded');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('part_debit'), 'nothing left')$$, 'PT409', format('cannot refund 0.000000 of transaction %s: 5.000000 was charged, 0.000000 is still refundable', tests.id('part_debit')),
                 'partial refund: once all is refunded, a default refund raises PT409');
SELECT results_eq($$select count(*), sum(amount) from credits.ledger where refund_of = tests.id('part_debit')$$,
                  $$values (3::bigint, 5::numeric)$$,
                  'partial refund: three refunds adding up to exactly the 5 charged');

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

-- invalid refunds
SELECT throws_ok($$select * from credits.refund_transaction(
                     (select transaction_id from credits.ledger where account_id = 'cr_full' and kind = 'grant'
                      and grant_id = tests.signup('cr_full')), 'not a debit')$$,
                 'PT422', format('transaction %s is a grant, not a debit or capture', (select transaction_id from credits.ledger where account_id = 'cr_full' and kind = 'grant' and grant_id = tests.signup('cr_full'))), 'refund_transaction: a grant row is not refundable (PT422)');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('full_refund'), 'a refund of a refund')$$,
                 'PT422', format('transaction %s is a refund, not a debit or capture', tests.id('full_refund')), 'refund_transaction: a refund row is not refundable (PT422)');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('alice_debit'), null)$$, 'PT422', format('a reason is required to refund transaction %s', tests.id('alice_debit')),
                 'refund_transaction: a missing reason raises PT422');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('alice_debit'), '   ')$$, 'PT422', format('a reason is required to refund transaction %s', tests.id('alice_debit')),
                 'refund_transaction: a blank reason raises PT422');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('alice_debit'), 'zero', 0)$$, 'PT422', 'amount must be above 0, got 0',
                 'refund_transaction: amount 0 raises PT422');
SELECT throws_ok($$select * from credits.refund_transaction(-1, 'no such transaction')$$, 'PT404', 'unknown transaction -1',
                 'refund_transaction: an unknown transaction raises PT404');

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
SELECT throws_ok($$select * from credits.void_grant(tests.signup('vd_main'), null)$$, 'PT422', format('a reason is required to void grant %s', tests.signup('vd_main')),
                 'void_grant: a missing reason raises PT422');
SELECT throws_ok($$select * from credits.void_grant(tests.signup('vd_main'), '')$$, 'PT422', format('a reason is required to void grant %s', tests.signup('vd_main')),
                 'void_grant: an empty reason raises PT422');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('alice_debit'), 'service tries')$$, '42501', 'permission denied for function refund_transaction',
                 'credits_service may not refund (42501)');
SELECT throws_ok($$select * from credits.void_grant(tests.signup('alice'), 'service tries')$$, '42501', 'permission denied for function void_grant',
                 'credits_service may not void a grant (42501)');

-- as user alice -----------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select * from credits.refund_transaction(tests.id('alice_debit'), 'my own debit')$$, '42501', 'permission denied for function refund_transaction',
                 'alice may not refund even her own debit (42501)');
SELECT throws_ok($$select * from credits.void_grant(tests.signup('alice'), 'my own grant')$$, '42501', 'permission denied for function void_grant',
                 'alice may not void even her own grant (42501)');

-- as admin, 2026-03-20: a refund to a grant that has since expired --------------------------
SELECT tests.act_as('credits_admin');
SELECT tests.travel('2026-03-20 12:00+00')::text;
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

-- as service, 2026-03-21: lazy expiry ------------------------------------------------------
-- ex_lazy: signup 6 and a promo of 4 (ended 03-20), of which a debit took 1
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-21 12:00+00')::text;
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

-- as service, 2026-03-26: expire_grants settles untouched accounts ------------------------------
-- ex_a: a promo of 2 ended 03-25; ex_b: a promo of 3 ended 03-25, 5 analysis credits ended 03-26 00:00
SELECT tests.travel('2026-03-26 12:00+00')::text;
SELECT results_eq($$select credit_type, available from credits.get_balance('ex_b') order by credit_type$$,
                  $$values ('analysis'::text, 0::numeric), ('credits', 6)$$,
                  'expire_grants: before it runs, get_balance already leaves the ended grants out');
SELECT is((select grants_expired from credits.expire_grants()), 3,
          'expire_grants returns the number of grants expired (ex_a''s promo, ex_b''s promo and analysis grant)');
SELECT results_eq($$select account_id, credit_type, amount, balance_before, balance_after from credits.ledger
                    where kind = 'expiry' and account_id in ('ex_a', 'ex_b') order by account_id, credit_type$$,
                  $$values ('ex_a'::text, 'credits'::text, -2::numeric, 8::numeric, 6::numeric),
                           ('ex_b', 'analysis', -5, 5, 0),
                           ('ex_b', 'credits', -3, 9, 6)$$,
                  'expire_grants writes one expiry row per ended grant of the untouched accounts');
SELECT is((select grants_expired from credits.expire_grants()), 0,
          'expire_grants: a second run expires nothing');
SELECT is((select count(*) from credits.ledger where kind = 'expiry' and account_id in ('ex_a', 'ex_b')), 3::bigint,
          'expire_grants: a second run writes no expiry row');

-- as superuser ------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty(
  $$select account_id, credit_type, transaction_id, balance_before, prev_after
    from (select l.*, lag(balance_after) over (partition by account_id, credit_type order by transaction_id) as prev_after
          from credits.ledger l) c
    where balance_before <> coalesce(prev_after, 0)$$,
  'ledger chain: every row''s balance_before is the previous row''s balance_after (per account and credit type)');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
