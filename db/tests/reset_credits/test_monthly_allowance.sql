-- reset_credits on a monthly allowance (SPEC §2 Corrections, §3 roles): the
-- running allowance grant is voided (a `void` row for what is left of it)
-- and issued again in full (a `grant` row) until the period ends; purchased
-- and promo credits are left alone; it returns get_balance's rows; the new
-- grant takes the period's place (kept in the voided one's metadata), so a
-- second reset and the next period still work and one allowance runs per
-- period; balance_at reads the reset's instant; a reset past the period's end
-- opens the new period first. Only admins (service, user and auditor: 42501).

BEGIN;
SELECT plan(17);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

CREATE TEMP TABLE reset_rows (credit_type text, available numeric, held numeric, granted_this_period numeric,
                               used_this_period numeric, period_start timestamptz, period_end timestamptz,
                               next_reset_at timestamptz, plan text, unlimited boolean, buckets jsonb,
                               pool_available numeric, pool_cap_remaining numeric)
  ON COMMIT DROP;
GRANT ALL ON reset_rows TO public;

-- as service: carol (pro, 100 a month) with a purchase and a promo, 30 spent
SELECT tests.act_as('credits_service');
SELECT account_id FROM credits.open_account('carol', 'pro');
INSERT INTO tests.ids SELECT 'carol_m1', grant_id FROM credits.ledger WHERE account_id = 'carol' AND kind = 'grant';
SELECT '' FROM credits.purchase_credits('carol', 50, 'pay-rs-1');
SELECT '' FROM credits.grant_credits('carol', 10, 'promo', expires_at => '2026-04-30 00:00+00');
SELECT '' FROM credits.deduct_credits('carol', 'roast', amount => 30.5);

-- as service, user and auditor: not allowed ------------------------------------------
SELECT throws_ok($$select * from credits.reset_credits('carol', 'outage')$$, '42501',
                 'permission denied for function reset_credits', 'the service may not reset credits (admin only)');
SELECT tests.act_as('credits_user', 'carol');
SELECT throws_ok($$select * from credits.reset_credits('carol', 'outage')$$, '42501',
                 'permission denied for function reset_credits', 'a user may not reset credits, even her own');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.reset_credits('carol', 'outage')$$, '42501',
                 'permission denied for function reset_credits', 'the auditor may not reset credits');

-- as admin: reset carol on 03-20 --------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT tests.travel('2026-03-20 10:00+00');
INSERT INTO tests.ids SELECT 'carol_before', tests.last_tx('carol');
INSERT INTO reset_rows SELECT * FROM credits.reset_credits('carol', 'outage on 03-19');
SELECT results_eq($$select credit_type, available, buckets from reset_rows order by credit_type$$,
                  $$values ('analysis'::text, 0::numeric, '{}'::jsonb),
                           ('credits', 160, '{"monthly": 100, "promo": 10, "purchase": 50}')$$,
                  'reset: the monthly allowance is whole again (100), the promo (10) and the purchase (50) untouched');
SELECT results_eq($$select * from reset_rows order by credit_type$$,
                  $$select * from credits.get_balance('carol') order by credit_type$$,
                  'reset returns get_balance''s rows, every column');
SELECT results_eq($$select * from tests.rows_after('carol', tests.id('carol_before'))$$,
                  $$values ('void'::text, -69.5::numeric, tests.id('carol_m1'), null::text,
                            'reset_credits: outage on 03-19'::text, 'credits_admin'::text),
                           ('grant', 100, (select max(grant_id) from credits.ledger where account_id = 'carol'),
                            'monthly', 'reset_credits: outage on 03-19', 'credits_admin')$$,
                  'reset writes a void of what was left of the allowance (69.5), then a grant of 100 (monthly), with the reason and actor');
INSERT INTO tests.ids SELECT 'carol_m2', max(grant_id) FROM credits.ledger WHERE account_id = 'carol';
SELECT results_eq($$select granted_this_period, used_this_period from reset_rows where credit_type = 'credits'$$,
                  $$values (100::numeric, 0::numeric)$$,
                  'reset: the period''s counters start afresh: granted is the new allowance (100), used 0 (30.5 before)');

SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select grant_id, source, amount, remaining, period_start, expires_at, voided_at is not null,
           (metadata -> 'reset' ->> 'period_start')::timestamptz
    from credits_private.grants where account_id = 'carol' and source = 'monthly' order by grant_id$$,
  $$values (tests.id('carol_m1'), 'monthly'::text, 100::numeric, 0::numeric, null::timestamptz,
            '2026-04-10 12:00+00'::timestamptz, true, '2026-03-10 12:00+00'::timestamptz),
           (tests.id('carol_m2'), 'monthly', 100, 100, '2026-03-10 12:00+00', '2026-04-10 12:00+00', false, null)$$,
  'the voided allowance hands its period to the new one (kept in its metadata); the new one ends with the period');
SELECT tests.act_as('credits_admin');
SELECT results_eq($$select * from credits.balance_at('carol', '2026-03-20 09:59:59.999999+00')$$,
                  $$values ('analysis'::text, 0::numeric), ('credits', 129.5)$$,
                  'balance_at just before the reset: 69.5 + 10 + 50');
SELECT results_eq($$select * from credits.balance_at('carol', '2026-03-20 10:00+00')$$,
                  $$values ('analysis'::text, 0::numeric), ('credits', 160)$$,
                  'balance_at at the reset: 160');

-- a second reset the next day voids the first reset's grant
SELECT tests.travel('2026-03-21 10:00+00');
SELECT tests.act_as('credits_service');
SELECT '' FROM credits.deduct_credits('carol', 'roast', amount => 1.25);
SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'carol_before2', tests.last_tx('carol');
SELECT is((select available from credits.reset_credits('carol', 'second outage') where credit_type = 'credits'),
          160::numeric, 'a second reset: 160 again');
SELECT results_eq($$select kind, amount, grant_id, source from tests.rows_after('carol', tests.id('carol_before2'))$$,
                  $$values ('void'::text, -98.75::numeric, tests.id('carol_m2'), null::text),
                           ('grant', 100, (select max(grant_id) from credits.ledger where account_id = 'carol'),
                            'monthly')$$,
                  'a second reset: a void of the first reset''s grant (98.75 left), then a grant of 100');
SELECT is((select count(*)::int from credits.ledger l where l.account_id = 'carol' and l.kind = 'grant'
             and l.metadata ->> 'source' = 'monthly'
             and l.grant_id not in (select v.grant_id from credits.ledger v where v.account_id = 'carol' and v.kind = 'void')),
          1, 'after two resets one monthly allowance runs in the period');

-- the next period still opens with its allowance
SELECT tests.travel('2026-04-11 09:00+00');
SELECT tests.act_as('credits_service');
SELECT '' FROM credits.get_or_create_active_period('carol');
SELECT results_eq($$select available, buckets from credits.get_balance('carol') where credit_type = 'credits'$$,
                  $$values (160::numeric, '{"monthly": 100, "promo": 10, "purchase": 50}'::jsonb)$$,
                  'after two resets, April opens with its own allowance; March''s reset allowance expired');

-- a reset in a period not opened yet opens it first
SELECT tests.travel('2026-05-12 09:00+00');
SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'carol_before3', tests.last_tx('carol');
SELECT results_eq($$select available, period_start from credits.reset_credits('carol', 'support ticket 17')
                    where credit_type = 'credits'$$,
                  $$values (150::numeric, '2026-05-10 12:00+00'::timestamptz)$$,
                  'a reset past the period''s end: the new period, its allowance in full (100) and the purchase; the promo ended');
SELECT results_eq($$select kind, amount, source from tests.rows_after('carol', tests.id('carol_before3'))$$,
                  $$values ('expiry'::text, -10::numeric, null::text), ('expiry', -100, null),
                           ('grant', 100, 'monthly'), ('void', -100, null), ('grant', 100, 'monthly')$$,
                  'a reset past the period''s end: expiries, the period''s allowance, then its void and the new grant');

-- as superuser ----------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
