-- What reset_credits refuses or leaves alone (SPEC §2 Corrections): a plan
-- without allowances (signup credits only) changes nothing and writes no
-- ledger row; a suspended account is not reset (PT422, voiding nothing); a
-- missing or blank reason, an empty account id PT422; an unknown account
-- PT404; each error names the account.

BEGIN;
SELECT plan(9);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

SELECT tests.act_as('credits_service');
SELECT account_id FROM credits.open_account('carol', 'pro');
SELECT account_id FROM credits.open_account('erin');
SELECT account_id FROM credits.open_account('frank', 'pro');
SELECT status FROM credits.set_account_status('frank', 'suspended', 'chargeback');
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
SELECT throws_ok($$select * from credits.reset_credits('frank', 'restore')$$, 'PT422',
                 'account frank is suspended: its credits stay as they are',
                 'a suspended account is not reset (its credits stay as they are): PT422');
SELECT throws_ok($$select * from credits.reset_credits('carol', null)$$, 'PT422',
                 'a reason is required to reset the credits of account carol',
                 'reset_credits: a missing reason raises PT422');
SELECT throws_ok($$select * from credits.reset_credits('carol', '  ')$$, 'PT422',
                 'a reason is required to reset the credits of account carol',
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
