-- upsert_credit_type (SPEC §2 Catalog, §3 roles): creates a credit type,
-- stamped with credits.now(), returns its row, and updates it in place when
-- called again (one row in credits.credit_types); an invalid code is PT422
-- naming it; only credits_admin may call it (service, user and auditor get
-- 42501).

BEGIN;
SELECT plan(12);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as admin ---------------------------------------------------------------------
SELECT tests.act_as('credits_admin');
-- upsert_credit_type
SELECT results_eq(
  $$select code, description from credits.upsert_credit_type('tokens', 'Token credits')$$,
  $$values ('tokens'::text, 'Token credits'::text)$$,
  'upsert_credit_type creates a credit type and returns its row');
SELECT is((select created_at from credits.credit_types where code = 'tokens'),
          '2026-03-10 12:00+00'::timestamptz,
          'a new credit type is stamped with credits.now() (SPEC: every function reads the clock through it)');
SELECT results_eq(
  $$select code, description from credits.upsert_credit_type('tokens', 'LLM tokens')$$,
  $$values ('tokens'::text, 'LLM tokens'::text)$$,
  'upsert_credit_type on an existing code returns the updated row');
SELECT results_eq(
  $$select code, description from credits.credit_types where code = 'tokens'$$,
  $$values ('tokens'::text, 'LLM tokens'::text)$$,
  'upsert_credit_type updates in place: one row in credits.credit_types, new description');
SELECT throws_ok($$select credits.upsert_credit_type('Tokens')$$, 'PT422', 'invalid credit type code Tokens',
                 'upsert_credit_type refuses an upper-case code (PT422)');
SELECT throws_ok($$select credits.upsert_credit_type('9lives')$$, 'PT422', 'invalid credit type code 9lives',
                 'upsert_credit_type refuses a code starting with a digit (PT422)');
SELECT throws_ok($$select credits.upsert_credit_type('')$$, 'PT422', 'invalid credit type code ',
                 'upsert_credit_type refuses an empty code (PT422)');
SELECT throws_ok($$select credits.upsert_credit_type(null)$$, 'PT422', 'invalid credit type code null',
                 'upsert_credit_type refuses a null code (PT422)');

-- as service, user alice and auditor: admins only ---------------------------------
SELECT tests.act_as('credits_service');
SELECT throws_ok($$select credits.upsert_credit_type('svc')$$, '42501',
                 'permission denied for function upsert_credit_type',
                 'credits_service may not call upsert_credit_type');
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select credits.upsert_credit_type('usr')$$, '42501',
                 'permission denied for function upsert_credit_type', 'credits_user may not call upsert_credit_type');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select credits.upsert_credit_type('aud')$$, '42501',
                 'permission denied for function upsert_credit_type',
                 'credits_auditor may not call upsert_credit_type');

-- as superuser -------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
