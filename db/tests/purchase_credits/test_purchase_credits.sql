-- purchase_credits (SPEC §1 grant, §2 Granting, §3 roles): a purchase is a
-- never-expiring grant of source purchase at priority 200; it returns what
-- is available after it; it is idempotent on payment_ref (the same payment
-- again, even written 20.000000, returns the first grant and credits once);
-- the same payment_ref with another amount, credit type or expires_at, or on
-- another account, is PT409 naming the payment; a missing or blank
-- payment_ref or a bad amount PT422, an unknown credit type PT404. Users and
-- auditors may not credit a purchase (42501).

BEGIN;
SELECT plan(18);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['alice', 'bob']) a;
SELECT grant_id::text FROM credits.grant_credits('alice', 20, 'promo');  -- 26 available, as the purchase finds them

-- purchase_credits
SELECT set_config('tw.pay_grant', p.grant_id::text, true), set_config('tw.pay_available', p.available::text, true)
FROM credits.purchase_credits('alice', 20, 'stripe:pi_1') p;
SELECT is(current_setting('tw.pay_available')::numeric, 46::numeric,
          'purchase_credits returns what is available after the purchase (26 + 20)');
SELECT results_eq(
  $$select grant_id, available from credits.purchase_credits('alice', 20, 'stripe:pi_1')$$,
  $$values (current_setting('tw.pay_grant')::bigint, current_setting('tw.pay_available')::numeric)$$,
  'purchase_credits again with the same payment_ref returns the first grant');
SELECT results_eq(
  $$select grant_id from credits.purchase_credits('alice', 20.000000, 'stripe:pi_1')$$,
  $$values (current_setting('tw.pay_grant')::bigint)$$,
  'a retry with amount 20.000000 for 20 is the same payment');
SELECT results_eq(
  $$select (select count(*)::int from credits.ledger where account_id = 'alice' and kind = 'grant'
                                                      and grant_id = current_setting('tw.pay_grant')::bigint),
           (select available from credits.get_balance('alice') where credit_type = 'credits')$$,
  $$values (1, 46::numeric)$$,
  'the payment was credited once');
SELECT throws_ok($$select credits.purchase_credits('alice', 25, 'stripe:pi_1')$$, 'PT409',
                 'payment stripe:pi_1 was already credited with other arguments',
                 'the same payment_ref with another amount is refused (PT409)');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, 'stripe:pi_1', 'analysis')$$, 'PT409',
                 'payment stripe:pi_1 was already credited with other arguments',
                 'the same payment_ref with another credit type is refused (PT409)');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, 'stripe:pi_1', expires_at => '2027-01-01 00:00+00')$$,
                 'PT409',
                 'payment stripe:pi_1 was already credited with other arguments',
                 'the same payment_ref with another expires_at is refused (PT409)');
SELECT throws_ok($$select credits.purchase_credits('bob', 20, 'stripe:pi_1')$$, 'PT409',
                 'payment stripe:pi_1 was already credited with other arguments',
                 'the same payment_ref on another account is refused (PT409)');
SELECT is((select count(*)::int from credits.ledger where account_id = 'bob' and metadata ->> 'source' = 'purchase'), 0,
          'bob was not credited alice''s payment');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, null)$$, 'PT422',
                 'payment_ref must be 1 to 255 characters, got null',
                 'purchase_credits refuses a missing payment_ref (PT422)');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, '')$$, 'PT422',
                 'payment_ref must be 1 to 255 characters, got ''''',
                 'purchase_credits refuses an empty payment_ref (PT422)');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, '   ')$$, 'PT422',
                 'payment_ref must be 1 to 255 characters, got ''   ''',
                 'purchase_credits refuses a blank payment_ref (PT422)');
SELECT throws_ok($$select credits.purchase_credits('alice', 0, 'stripe:pi_2')$$, 'PT422',
                 'amount must be above 0, got 0', 'purchase_credits refuses an amount of 0 (PT422)');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, 'stripe:pi_2', 'gold')$$, 'PT404',
                 'unknown credit type gold', 'purchase_credits refuses an unknown credit type (PT404)');

-- as user alice and auditor: not allowed -------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select credits.purchase_credits('alice', 5, 'stripe:pi_self')$$, '42501',
                 'permission denied for function purchase_credits', 'a credits_user may not credit a purchase');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select credits.purchase_credits('alice', 5, 'stripe:pi_audit')$$, '42501',
                 'permission denied for function purchase_credits', 'a credits_auditor may not credit a purchase');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select source, priority, expires_at, payment_ref from credits_private.grants
    where account_id = 'alice' and grant_id = current_setting('tw.pay_grant')::bigint$$,
  $$values ('purchase'::text, 200, null::timestamptz, 'stripe:pi_1'::text)$$,
  'a purchase is a never-expiring grant of source purchase at priority 200');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
