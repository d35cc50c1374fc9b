-- reset_credits (SPEC §2 Corrections, §3 roles).
--
-- What a reset does: every allowance grant still running (the period's
-- monthly allowance, today's daily one) is voided (a `void` row for what is
-- left of it), then the plan's allowances are issued again in full (a
-- `grant` row each): monthly until the period ends, daily until the
-- account's next local midnight. Purchased and promo credits are left alone,
-- the result is get_balance's rows, the new grant takes the period's (or the
-- day's) place, so a second reset and the next period still work and there
-- is one running allowance per period and day. The period's counters read
-- as a fresh period's (issue 17): granted = the allowances issued, used =
-- 0, so the 80, 90 and 100 % thresholds fire again as the allowance is
-- spent. A reset in a period not opened yet opens it first. A plan without
-- allowances changes nothing.
-- Errors: PT422 (no reason, suspended account, empty id), PT404; only
-- admins (service, user and auditor get 42501).

BEGIN;
SELECT plan(35);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT code FROM credits.upsert_plan('drip', monthly_allowance => '{"analysis": 10}',
                                     daily_allowance => '{"credits": 5}');
SELECT feature FROM credits.set_plan_feature('drip', 'roast');

CREATE TEMP TABLE reset_rows (credit_type text, available numeric, held numeric, granted_this_period numeric,
                               used_this_period numeric, period_start timestamptz, period_end timestamptz,
                               next_reset_at timestamptz, plan text, unlimited boolean, buckets jsonb)
  ON COMMIT DROP;
GRANT ALL ON reset_rows TO public;

-- as service: carol (pro, 100 a month) with a purchase and a promo, 30 spent
SELECT tests.act_as('credits_service');
SELECT account_id FROM credits.open_account('carol', 'pro');
SELECT account_id FROM credits.open_account('dave', 'drip', timezone => 'Europe/Paris');
SELECT account_id FROM credits.open_account('erin');
SELECT account_id FROM credits.open_account('frank', 'pro');
INSERT INTO tests.ids SELECT 'carol_m1', grant_id FROM credits.ledger WHERE account_id = 'carol' AND kind = 'grant';
SELECT '' FROM credits.purchase_credits('carol', 50, 'pay-rs-1');
SELECT '' FROM credits.grant_credits('carol', 10, 'promo', expires_at => '2026-04-30 00:00+00');
SELECT '' FROM credits.deduct_credits('carol', 'roast', amount => 30.5);
SELECT status FROM credits.set_account_status('frank', 'suspended', 'chargeback');

-- as service, user and auditor: not allowed ------------------------------------------
SELECT throws_ok($$select * from credits.reset_credits('carol', 'outage')$$, '42501', 'permission denied for function reset_credits',
                 'the service may not reset credits (admin only)');
SELECT tests.act_as('credits_user', 'carol');
SELECT throws_ok($$select * from credits.reset_credits('carol', 'outage')$$, '42501', 'permission denied for function reset_credits',
                 'a user may not reset credits, even her own');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.reset_credits('carol', 'outage')$$, '42501', 'permission denied for function reset_credits',
                 'the auditor may not reset credits');

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

-- as admin: daily allowances, in the account's time zone ------------------------------------
-- 23:30 UTC on 03-20 is 00:30 on 03-21 in Paris
SELECT tests.travel('2026-03-20 23:30+00');
INSERT INTO tests.ids SELECT 'dave_before', tests.last_tx('dave');
SELECT results_eq($$select credit_type, available, buckets from credits.reset_credits('dave', 'drip restart')
                    order by credit_type$$,
                  $$values ('analysis'::text, 10::numeric, '{"monthly": 10}'::jsonb),
                           ('credits', 5, '{"daily": 5}')$$,
                  'drip plan: a reset issues the monthly allowance (analysis 10) again and today''s daily allowance (5)');
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select source, credit_type, amount, local_day, expires_at from credits_private.grants
    where account_id = 'dave' and voided_at is null and remaining > 0 order by grant_id$$,
  $$values ('monthly'::text, 'analysis'::text, 10::numeric, null::date, '2026-04-10 11:00+00'::timestamptz),
           ('daily', 'credits', 5, '2026-03-21'::date, '2026-03-21 23:00+00')$$,
  'the daily grant is for the local day (Mar 21 in Paris) and ends at the next local midnight (23:00 UTC)');
SELECT tests.act_as('credits_service');
SELECT '' FROM credits.deduct_credits('dave', 'roast', amount => 2);
SELECT tests.travel('2026-03-21 08:00+00');
SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'dave_before2', tests.last_tx('dave');
SELECT is((select available from credits.reset_credits('dave', 'again') where credit_type = 'credits'), 5::numeric,
          'a second reset the same local day: the daily allowance is 5 again');
SELECT results_eq($$select kind, amount, source from tests.rows_after('dave', tests.id('dave_before2'))$$,
                  $$values ('void'::text, -10::numeric, null::text), ('grant', 10, 'monthly'),
                           ('void', -3, null), ('grant', 5, 'daily')$$,
                  'a second reset voids the running monthly (10) and daily (3 left) allowances and issues both again');
SELECT tests.act_as_superuser();
SELECT is((select count(*)::int from credits_private.grants
           where account_id = 'dave' and source = 'daily' and local_day = '2026-03-21'), 1,
          'one daily grant holds the local day (the voided one gave it up)');
SELECT tests.act_as('credits_admin');

-- as admin: a subscriber awaiting its renewal -------------------------------------------------
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.act_as('credits_service');
SELECT account_id FROM credits.open_account('sue');
SELECT plan FROM credits.apply_subscription_event('evt-rs-1', 'sue', 'pro', 'active',
                                                 '2026-03-10 12:00+00', '2026-04-10 12:00+00');
SELECT tests.travel('2026-04-10 12:05+00');
SELECT tests.act_as('credits_admin');
INSERT INTO tests.ids SELECT 'sue_before', tests.last_tx('sue');
SELECT results_eq($$select available, period_end from credits.reset_credits('sue', 'renewal late')
                    where credit_type = 'credits'$$,
                  $$values (6::numeric, '2026-04-10 12:00+00'::timestamptz)$$,
                  'a subscriber whose period is over, renewal not arrived: the reset issues no monthly allowance (6 signup left)');
SELECT results_eq($$select kind, amount from tests.rows_after('sue', tests.id('sue_before'))$$,
                  $$values ('expiry'::text, -100::numeric)$$,
                  'a subscriber awaiting renewal: only the ended allowance''s expiry is written, no void and no grant');

-- as admin: the counters after a reset, and the thresholds again (issue 17) ------------------------
-- dana: monthly analysis 1000 and credits 200; 20 credits spent, then reset.
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.act_as('credits_admin');
SELECT code FROM credits.upsert_plan('duo', monthly_allowance => '{"credits": 200, "analysis": 1000}');
SELECT feature FROM credits.set_plan_feature('duo', 'roast');
SELECT tests.act_as('credits_service');
SELECT account_id FROM credits.open_account('dana', 'duo');
SELECT ok FROM credits.deduct_credits('dana', 'roast', amount => 20);
SELECT tests.act_as('credits_admin');
SELECT results_eq($$select credit_type, available, granted_this_period, used_this_period
                    from credits.reset_credits('dana', 'manual_reset: ticket #123') order by credit_type$$,
                  $$values ('analysis'::text, 1000::numeric, 1000::numeric, 0::numeric),
                           ('credits', 200, 200, 0)$$,
                  'after a reset the counters read as a fresh period''s: granted = the allowance (not 2000 and 400), used = 0 (not 20)');
SELECT results_eq($$select credit_type, granted_this_period, used_this_period from credits.get_balance('dana')
                    order by credit_type$$,
                  $$values ('analysis'::text, 1000::numeric, 0::numeric), ('credits', 200, 0)$$,
                  'get_balance reads the same counters');
SELECT tests.act_as('credits_service');
CREATE TEMP TABLE dana_mark ON COMMIT DROP AS SELECT coalesce(max(event_id), 0) AS event_id FROM credits.events;
GRANT SELECT ON dana_mark TO public;
SELECT (credits.deduct_credits('dana', 'roast', amount => a)).ok FROM unnest(array[150, 20, 20, 10]) a;
SELECT is((select array_agg(kind || coalesce(':' || (payload ->> 'threshold'), '') order by event_id)
           from credits.events
           where account_id = 'dana' and credit_type = 'credits' and kind <> 'balance_changed'
             and event_id > (select event_id from dana_mark)),
          '{threshold_crossed:80,threshold_crossed:90,threshold_crossed:100,depleted}'::text[],
          'spending the reset allowance (150, 20, 20, 10 of 200) crosses 80, 90 and 100 % again, then depletes');
SELECT tests.act_as('credits_admin');
SELECT tests.travel('2026-05-12 09:00+00');

-- as admin: nothing to reset, and refusals -----------------------------------------------------
INSERT INTO tests.ids SELECT 'erin_before', tests.last_tx('erin');
SELECT results_eq($$select credit_type, available, buckets from credits.reset_credits('erin', 'nothing to do')
                    order by credit_type$$,
                  $$values ('analysis'::text, 0::numeric, '{}'::jsonb), ('credits', 6, '{"signup": 6}')$$,
                  'free plan (signup credits only): a reset leaves the signup grant alone');
SELECT is_empty($$select * from tests.rows_after('erin', tests.id('erin_before'))$$,
                'free plan: a reset writes no ledger row');
SELECT throws_ok($$select * from credits.reset_credits('frank', 'restore')$$, 'PT422', 'account frank is suspended: its credits stay as they are',
                 'a suspended account is not reset (its credits stay as they are): PT422');
SELECT throws_ok($$select * from credits.reset_credits('carol', null)$$, 'PT422', 'a reason is required to reset the credits of account carol',
                 'reset_credits: a missing reason raises PT422');
SELECT throws_ok($$select * from credits.reset_credits('carol', '  ')$$, 'PT422', 'a reason is required to reset the credits of account carol',
                 'reset_credits: a blank reason raises PT422');
SELECT throws_ok($$select * from credits.reset_credits('ghost', 'why not')$$, 'PT404', 'unknown account ghost',
                 'reset_credits: an unknown account raises PT404');
SELECT throws_ok($$select * from credits.reset_credits('', 'why not')$$, 'PT422', 'account_id is required',
                 'reset_credits: an empty account id raises PT422');

-- as superuser ----------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is((select count(*)::int from credits.ledger where account_id = 'frank' and kind = 'void'), 0,
          'the refused reset of the suspended account voided nothing');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
