-- grant_subscriber_monthly_credits (SPEC §2, §3): for an account whose period
-- issued its allowance it returns the existing grant and writes nothing; in
-- the next period it settles the period and returns that period's grant; a
-- plan without a monthly allowance PT422 (naming the account and period), an
-- unknown account PT404; users and auditors may not call it (42501).

BEGIN;
SELECT plan(8);
SELECT '' FROM tests.catalog();
SELECT tests.subscription_plans();

SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('gs_pro', 'pro');
SELECT account_id FROM credits.open_account('gs_team', 'team');
SELECT account_id FROM credits.open_account('alice');

-- as service: grant_subscriber_monthly_credits ---------------------------------------------------------
SELECT tests.travel('2026-03-20 12:00+00');
SELECT is((select grant_id from credits.grant_subscriber_monthly_credits('gs_pro')),
          (select grant_id from tests.grants('gs_pro', 'monthly')),
          'an account whose period issued its allowance: the existing grant, nothing new');
SELECT is((select count(*) from credits.ledger where account_id = 'gs_pro'), 1::bigint,
          'grant_subscriber_monthly_credits wrote nothing for gs_pro');
SELECT tests.travel('2026-04-11 12:00+00');
INSERT INTO tests.ids SELECT 'gs_pro_2', grant_id FROM credits.grant_subscriber_monthly_credits('gs_pro');
SELECT results_eq(
  $$select amount, period_start from tests.grants('gs_pro', 'monthly') where grant_id = tests.id('gs_pro_2')$$,
  $$values (100::numeric, '2026-04-10 12:00+00'::timestamptz)$$,
  'in the next period: that period''s grant (the call settled it)');
SELECT throws_ok($$select * from credits.grant_subscriber_monthly_credits('gs_team')$$, 'PT422',
                 format('account gs_team has no monthly allowance for its period %s to %s',
                        '2026-04-10 12:00+00'::timestamptz,
                        '2026-05-10 12:00+00'::timestamptz),
                 'a plan without a monthly allowance: PT422');
SELECT throws_ok($$select * from credits.grant_subscriber_monthly_credits('ghost')$$, 'PT404', 'unknown account ghost',
                 'unknown account: PT404');

-- as user alice ------------------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select * from credits.grant_subscriber_monthly_credits('alice')$$, '42501',
                 'permission denied for function grant_subscriber_monthly_credits',
                 'a user may not call grant_subscriber_monthly_credits');

-- as auditor ---------------------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.grant_subscriber_monthly_credits('alice')$$, '42501',
                 'permission denied for function grant_subscriber_monthly_credits',
                 'an auditor may not call grant_subscriber_monthly_credits');

-- as superuser -------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
