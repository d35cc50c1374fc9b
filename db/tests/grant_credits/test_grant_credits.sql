-- grant_credits (SPEC §1 grant, §2 Granting, §3 roles): it returns what is
-- available after the grant and writes a grant ledger row naming the grant;
-- an admin grant (the default source) needs a reason; an unknown source, an
-- amount that is not above 0, finite, of 6 decimals at most and below 10^15,
-- an expires_at not in the future: PT422; an unknown credit type or account:
-- PT404; every error names the value, and none changes the balance. Users and
-- auditors may not grant (42501). Keys: test_idempotency_key.sql; default
-- priorities and burn-down: burn_down/.

BEGIN;
SELECT plan(23);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['alice', 'bob']) a;

-- grant_credits
SELECT is(g.available, 16::numeric, 'grant_credits returns what is available after the grant (6 + 10)')
FROM credits.grant_credits('alice', 10, 'promo') g, set_config('tw.alice_promo', g.grant_id::text, true);
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, grant_id, metadata ->> 'source'
    from credits.ledger where account_id = 'alice' order by transaction_id desc limit 1$$,
  $$values ('grant'::text, 10::numeric, 6::numeric, 16::numeric, current_setting('tw.alice_promo')::bigint,
            'promo'::text)$$,
  'grant_credits writes a grant ledger row naming the grant it returned');
SELECT throws_ok($$select credits.grant_credits('alice', 5)$$, 'PT422',
                 'a reason is required to grant admin credits to account alice',
                 'an admin grant (the default source) without a reason is refused (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'admin', reason => '  ')$$, 'PT422',
                 'a reason is required to grant admin credits to account alice',
                 'an admin grant with a blank reason is refused (PT422)');
SELECT results_eq(
  $$select available from credits.grant_credits('alice', 5, 'admin', reason => 'support ticket 77')$$,
  $$values (21::numeric)$$,
  'an admin grant with a reason is made');
SELECT is((select reason from credits.ledger where account_id = 'alice' order by transaction_id desc limit 1),
          'support ticket 77', 'the admin grant''s reason is in the ledger');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'gift')$$, 'PT422', 'invalid grant source gift',
                 'grant_credits refuses an unknown source (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, null)$$, 'PT422', 'invalid grant source null',
                 'grant_credits refuses a null source (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 0, 'promo')$$, 'PT422', 'amount must be above 0, got 0',
                 'grant_credits refuses an amount of 0 (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', -5, 'promo')$$, 'PT422', 'amount must be above 0, got -5',
                 'grant_credits refuses a negative amount (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 'NaN', 'promo')$$, 'PT422',
                 'amount must be a finite number, got NaN', 'grant_credits refuses NaN (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 'Infinity', 'promo')$$, 'PT422',
                 'amount must be a finite number, got Infinity', 'grant_credits refuses Infinity (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 1.0000001, 'promo')$$, 'PT422',
                 'amount has more than 6 decimal places: 1.0000001',
                 'grant_credits refuses an amount with 7 decimals (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 1e15, 'promo')$$, 'PT422',
                 'amount is too large: 1000000000000000', 'grant_credits refuses an amount of 10^15 (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', null, 'promo')$$, 'PT422', 'amount is required',
                 'grant_credits refuses a null amount (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo', expires_at => '2026-03-10 11:59+00')$$, 'PT422',
                 format('expires_at %s is not in the future', '2026-03-10 11:59+00'::timestamptz),
                 'grant_credits refuses an expires_at in the past (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo', expires_at => '2026-03-10 12:00+00')$$, 'PT422',
                 format('expires_at %s is not in the future', '2026-03-10 12:00+00'::timestamptz),
                 'grant_credits refuses an expires_at of now (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo', 'gold')$$, 'PT404', 'unknown credit type gold',
                 'grant_credits refuses an unknown credit type (PT404)');
SELECT throws_ok($$select credits.grant_credits('ghost', 5, 'promo')$$, 'PT404', 'unknown account ghost',
                 'grant_credits refuses an unknown account (PT404)');
SELECT is((select available from credits.get_balance('alice') where credit_type = 'credits'), 21::numeric,
          'no refused grant_credits changed alice''s balance');

-- as user alice and auditor: not allowed -------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo')$$, '42501',
                 'permission denied for function grant_credits',
                 'a credits_user may not grant credits, even to herself');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo')$$, '42501',
                 'permission denied for function grant_credits', 'a credits_auditor may not grant credits');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
