-- reset_credits on a subscriber whose period is over and whose renewal has
-- not arrived (SPEC §2 Corrections): no monthly allowance is issued, only the
-- ended allowance's expiry is written (no void, no grant).

BEGIN;
SELECT plan(3);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

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

-- as superuser ----------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
