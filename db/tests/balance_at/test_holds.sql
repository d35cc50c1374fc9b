-- balance_at and holds (SPEC §1 hold): hana (pro) has a promo ending at
-- midnight, a long hold on it and the allowance, a short hold that lapses
-- unswept, a capture drawing from the ended promo, a hold released and a
-- grant voided under a hold that then lapses: balance_at(now) = get_balance
-- with a lapsed hold unswept, and read back later each moment is 110 less what
-- running holds earmark; a lapsed hold blocks nothing; the ended promo drops
-- out whole, settled or not; a voided grant's held part does not count.

BEGIN;
SELECT plan(3);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- as service: holds ------------------------------------------------------------------------
-- hana (pro): a promo ending at midnight, a long hold on it and the allowance,
-- a short hold that lapses unswept, a capture drawing from the ended promo, a
-- hold released, and a grant voided under a hold that then lapses.
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('hana', 'pro');
SELECT '' FROM credits.grant_credits('hana', 10, 'promo', expires_at => '2026-03-11 00:00+00');
SELECT tests.travel('2026-03-10 13:00+00');
INSERT INTO tests.ids SELECT 'h1', hold_id FROM credits.reserve_credits('hana', 'roast', ttl => '2 days', amount => 15);
SELECT tests.see('hana');
SELECT tests.travel('2026-03-10 14:00+00');
SELECT '' FROM credits.reserve_credits('hana', 'roast', ttl => '1 hour', amount => 3);
SELECT tests.see('hana');
SELECT tests.travel('2026-03-10 15:00+00');
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 00:00+00');
SELECT tests.see('hana');
SELECT results_eq($$select * from credits.balance_at('hana', credits.now())$$,
                  $$select credit_type, available from credits.get_balance('hana')$$,
                  'holds: with a lapsed hold unswept and an ended grant under a running hold, balance_at(now) = get_balance');
-- h1 asked for 2 days but lapses at 00:15, 15 minutes after the promo it
-- earmarks ended (SPEC §1 hold): the sweep and the capture come before.
SELECT tests.travel('2026-03-11 00:05+00');
SELECT '' FROM credits.expire_grants();
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 00:10+00');
SELECT '' FROM credits.capture_hold(tests.id('h1'), 12);
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 11:00+00');
INSERT INTO tests.ids SELECT 'h3', hold_id FROM credits.reserve_credits('hana', 'roast', ttl => '1 day', amount => 4);
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 12:00+00');
SELECT '' FROM credits.release_hold(tests.id('h3'));
SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'hana_admin', grant_id
  FROM credits.grant_credits('hana', 7, 'admin', priority => 10, reason => 'apology');
SELECT tests.act_as('credits_service');
SELECT '' FROM credits.reserve_credits('hana', 'roast', ttl => '1 hour', amount => 5);
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 12:30+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.void_grant(tests.id('hana_admin'), 'apology withdrawn');
SELECT tests.act_as('credits_service');
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 13:00+00');
SELECT tests.see('hana');
SELECT tests.travel('2026-03-11 13:30+00');
SELECT '' FROM credits.deduct_credits('hana', 'roast', amount => 1);
SELECT tests.see('hana');
SELECT results_eq(
  $$select s.at, b.available from tests.seen s cross join lateral credits.balance_at('hana', s.at) b
    where s.account_id = 'hana' and s.credit_type = 'credits' and b.credit_type = 'credits' order by s.at$$,
  $$values ('2026-03-10 13:00+00'::timestamptz, 95::numeric), ('2026-03-10 14:00+00', 92),
           ('2026-03-10 15:00+00', 95), ('2026-03-11 00:00+00', 95), ('2026-03-11 00:05+00', 95),
           ('2026-03-11 00:10+00', 98),
           ('2026-03-11 11:00+00', 94), ('2026-03-11 12:00+00', 100), ('2026-03-11 12:30+00', 98),
           ('2026-03-11 13:00+00', 98), ('2026-03-11 13:30+00', 97)$$,
  'holds: 110 less what running holds earmark; a lapsed hold blocks nothing; the ended promo drops out whole, settled or not; a voided grant''s held part does not count');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
