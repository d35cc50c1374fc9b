-- Every function reads credits.now() (SPEC §2 "Time"): an account opened,
-- charged, refused, granted, expired and suspended after
-- tests.travel('2030-01-01') carries the travelled dates everywhere, the
-- catalog functions included; and no function of credits or credits_private
-- but credits.now() reads now(), current_timestamp, clock_timestamp() or the
-- like itself (checked in the catalog).

BEGIN;
SELECT plan(16);
SELECT tests.catalog();

-- as service: every function reads credits.now() ------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.travel('2030-01-01 00:00+00');

SELECT results_eq($$ SELECT created_at, updated_at, billing_anchor, period_start, period_end
                     FROM credits.open_account('zed') $$,
                  $$ VALUES ('2030-01-01 00:00+00'::timestamptz, '2030-01-01 00:00+00'::timestamptz,
                            '2030-01-01 00:00+00'::timestamptz, '2030-01-01 00:00+00'::timestamptz,
                            '2030-02-01 00:00+00'::timestamptz) $$,
                  'an account opened after travel: created_at, updated_at, billing_anchor and period from credits.now()');
SELECT results_eq($$ SELECT kind, created_at FROM credits.ledger WHERE account_id = 'zed' $$,
                  $$ VALUES ('grant', '2030-01-01 00:00+00'::timestamptz) $$,
                  'its signup grant''s ledger row is dated by credits.now()');

SELECT tests.travel('2030-01-05 10:00+00');
SELECT is((SELECT ok FROM credits.deduct_credits('zed', 'roast', idempotency_key => 'zed-1')), true,
          'zed is charged a roast');
SELECT is((SELECT created_at FROM credits.ledger WHERE account_id = 'zed' AND idempotency_key = 'zed-1'),
          '2030-01-05 10:00+00'::timestamptz, 'the debit''s ledger row is dated by credits.now()');
SELECT is((SELECT reason FROM credits.deduct_credits('zed', 'premium')), 'feature_not_in_plan',
          'zed''s premium call is refused');
SELECT is((SELECT created_at FROM credits.gate_events WHERE account_id = 'zed'),
          '2030-01-05 10:00+00'::timestamptz, 'the refusal''s event is dated by credits.now()');
SELECT is((SELECT available FROM credits.grant_credits('zed', 3, 'promo', expires_at => '2030-01-06 00:00+00',
                                                       idempotency_key => 'zed-g1')),
          8::numeric, 'zed is granted 3 promo credits until 2030-01-06');
SELECT is((SELECT created_at FROM credits.ledger WHERE account_id = 'zed' AND idempotency_key = 'zed-g1'),
          '2030-01-05 10:00+00'::timestamptz, 'the grant''s ledger row is dated by credits.now()');

SELECT tests.travel('2030-01-07 00:00+00');
SELECT is((SELECT available FROM credits.get_balance('zed') WHERE credit_type = 'credits'), 5::numeric,
          'get_balance leaves out the promo that ended before credits.now()');
SELECT is((SELECT grants_expired FROM credits.expire_grants()), 1, 'expire_grants expires the promo by credits.now()');
SELECT results_eq($$ SELECT amount, created_at FROM credits.ledger WHERE account_id = 'zed' AND kind = 'expiry' $$,
                  $$ VALUES (-3::numeric, '2030-01-07 00:00+00'::timestamptz) $$,
                  'the expiry''s ledger row is dated by credits.now()');
SELECT is((SELECT updated_at FROM credits.set_account_status('zed', 'suspended', 'test')),
          '2030-01-07 00:00+00'::timestamptz, 'set_account_status dates the change by credits.now()');

-- as admin: the catalog functions read credits.now() too
SELECT tests.act_as('credits_admin');
SELECT is((SELECT updated_at FROM credits.upsert_feature('roast', 'credits', 2)),
          '2030-01-07 00:00+00'::timestamptz, 'upsert_feature dates the change by credits.now()');
SELECT is((SELECT created_at FROM credits.upsert_credit_type('gems', 'Gems')),
          '2030-01-07 00:00+00'::timestamptz, 'upsert_credit_type dates a new credit type by credits.now()');

-- as superuser: nothing reads the clock but credits.now() -------------------------
SELECT tests.act_as_superuser();

SELECT is_empty($$
  SELECT p.oid::regprocedure::text
  FROM pg_proc p
  WHERE p.pronamespace IN ('credits'::regnamespace, 'credits_private'::regnamespace)
    AND p.oid NOT IN ('credits.now()'::regprocedure, 'credits_private._clock_override(text)'::regprocedure)
    AND regexp_replace(pg_get_functiondef(p.oid), '--[^\n]*', '', 'g')
        ~* '(^|[^.a-z0-9_])(now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday)\s*\(|\m(current_timestamp|localtimestamp|current_date|current_time|localtime)\M'
$$, 'no function but credits.now() reads the clock itself (now(), current_timestamp, clock_timestamp(), ...)');

SELECT is_empty('SELECT * FROM credits.reconciliation', 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
