-- Grants: grant_credits, purchase_credits and the burn-down order of the
-- grants a debit draws from (SPEC §1 grant and burn-down order, §2 Granting,
-- §3 roles).
--
-- grant_credits: sources, default priorities (100 given, 200 purchased), an
-- admin grant needs a reason, every invalid argument PT422, unknown credit
-- type or account PT404, idempotency_key (a retry returns the first grant and
-- adds nothing, other arguments PT409), users and auditors refused (42501).
-- purchase_credits: idempotent on payment_ref, PT409 for the same payment with
-- other arguments or on another account, PT422 without one. Burn-down: lower
-- priority first, then the soonest end (never last), then the oldest; a debit
-- spanning grants records each draw, in order, in its ledger row.

BEGIN;
SELECT plan(57);
SELECT '' FROM tests.catalog();  -- '' rather than the SQL function's null: TAP lines must be text
SELECT tests.travel('2026-03-10 12:00+00')::text;

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT string_agg(account_id, ',') FROM unnest(array['alice', 'bob', 'gina', 'carol', 'dave', 'erin']) a,
  credits.open_account(a);

-- grant_credits
SELECT is(g.available, 16::numeric, 'grant_credits returns what is available after the grant (6 + 10)')
FROM credits.grant_credits('alice', 10, 'promo') g, set_config('tw.alice_promo', g.grant_id::text, true);
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, grant_id, metadata ->> 'source'
    from credits.ledger where account_id = 'alice' order by transaction_id desc limit 1$$,
  $$values ('grant'::text, 10::numeric, 6::numeric, 16::numeric, current_setting('tw.alice_promo')::bigint,
            'promo'::text)$$,
  'grant_credits writes a grant ledger row naming the grant it returned');
SELECT throws_ok($$select credits.grant_credits('alice', 5)$$, 'PT422', 'a reason is required to grant admin credits to account alice',
                 'an admin grant (the default source) without a reason is refused (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'admin', reason => '  ')$$, 'PT422', 'a reason is required to grant admin credits to account alice',
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
SELECT throws_ok($$select credits.grant_credits('alice', 'NaN', 'promo')$$, 'PT422', 'amount must be a finite number, got NaN',
                 'grant_credits refuses NaN (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 'Infinity', 'promo')$$, 'PT422', 'amount must be a finite number, got Infinity',
                 'grant_credits refuses Infinity (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 1.0000001, 'promo')$$, 'PT422', 'amount has more than 6 decimal places: 1.0000001',
                 'grant_credits refuses an amount with 7 decimals (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 1e15, 'promo')$$, 'PT422', 'amount is too large: 1000000000000000',
                 'grant_credits refuses an amount of 10^15 (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', null, 'promo')$$, 'PT422', 'amount is required',
                 'grant_credits refuses a null amount (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo', expires_at => '2026-03-10 11:59+00')$$,
                 'PT422', format('expires_at %s is not in the future', '2026-03-10 11:59+00'::timestamptz), 'grant_credits refuses an expires_at in the past (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo', expires_at => '2026-03-10 12:00+00')$$,
                 'PT422', format('expires_at %s is not in the future', '2026-03-10 12:00+00'::timestamptz), 'grant_credits refuses an expires_at of now (PT422)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo', 'gold')$$, 'PT404', 'unknown credit type gold',
                 'grant_credits refuses an unknown credit type (PT404)');
SELECT throws_ok($$select credits.grant_credits('ghost', 5, 'promo')$$, 'PT404', 'unknown account ghost',
                 'grant_credits refuses an unknown account (PT404)');
SELECT is((select available from credits.get_balance('alice') where credit_type = 'credits'), 21::numeric,
          'no refused grant_credits changed alice''s balance');

-- grant_credits with an idempotency key
SELECT set_config('tw.key_grant', g.grant_id::text, true), set_config('tw.key_available', g.available::text, true)
FROM credits.grant_credits('alice', 5, 'promo', expires_at => '2026-04-01 00:00+00',
                           idempotency_key => 'promo-march') g;
SELECT results_eq(
  $$select grant_id, available from credits.grant_credits('alice', 5, 'promo', expires_at => '2026-04-01 00:00+00',
                                                          idempotency_key => 'promo-march')$$,
  $$values (current_setting('tw.key_grant')::bigint, current_setting('tw.key_available')::numeric)$$,
  'a retry with the same key and arguments returns the first grant and its available');
SELECT results_eq(
  $$select (select count(*)::int from credits.ledger where account_id = 'alice' and idempotency_key = 'promo-march'),
           (select available from credits.get_balance('alice') where credit_type = 'credits')$$,
  $$values (1, 26::numeric)$$,
  'the retry added no grant and no credits');
SELECT lives_ok(
  $$select credits.grant_credits('alice', 5.000000, 'promo', expires_at => '2026-04-01 00:00+00',
                                 idempotency_key => 'promo-march')$$,
  'a retry with amount 5.000000 for 5 is the same call (same numeric value), not a conflict');
SELECT set_config('tw.timezone', current_setting('timezone'), true), set_config('timezone', 'America/New_York', true);
SELECT lives_ok(
  $$select credits.grant_credits('alice', 5, 'promo', expires_at => '2026-04-01 00:00+00',
                                 idempotency_key => 'promo-march')$$,
  'a retry from a session in another time zone, naming the same expires_at instant, is the same call');
SELECT set_config('timezone', current_setting('tw.timezone'), true);
SELECT is((select count(*)::int from credits.ledger where account_id = 'alice' and idempotency_key = 'promo-march'), 1,
          'the retries still left one grant under the key');
SELECT throws_ok($$select credits.grant_credits('alice', 6, 'promo', expires_at => '2026-04-01 00:00+00',
                                                idempotency_key => 'promo-march')$$, 'PT409', 'idempotency key promo-march of account alice was used with other arguments',
                 'the same key with another amount is refused (PT409)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'daily', expires_at => '2026-04-01 00:00+00',
                                                idempotency_key => 'promo-march')$$, 'PT409', 'idempotency key promo-march of account alice was used with other arguments',
                 'the same key with another source is refused (PT409)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo', idempotency_key => 'promo-march')$$, 'PT409', 'idempotency key promo-march of account alice was used with other arguments',
                 'the same key with another expires_at is refused (PT409)');
SELECT isnt((select grant_id from credits.grant_credits('bob', 5, 'promo', expires_at => '2026-04-01 00:00+00',
                                                        idempotency_key => 'promo-march')),
            current_setting('tw.key_grant')::bigint,
            'keys are per account: bob''s promo-march is a grant of its own');

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
SELECT throws_ok($$select credits.purchase_credits('alice', 25, 'stripe:pi_1')$$, 'PT409', 'payment stripe:pi_1 was already credited with other arguments',
                 'the same payment_ref with another amount is refused (PT409)');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, 'stripe:pi_1', 'analysis')$$, 'PT409', 'payment stripe:pi_1 was already credited with other arguments',
                 'the same payment_ref with another credit type is refused (PT409)');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, 'stripe:pi_1', expires_at => '2027-01-01 00:00+00')$$,
                 'PT409', 'payment stripe:pi_1 was already credited with other arguments', 'the same payment_ref with another expires_at is refused (PT409)');
SELECT throws_ok($$select credits.purchase_credits('bob', 20, 'stripe:pi_1')$$, 'PT409', 'payment stripe:pi_1 was already credited with other arguments',
                 'the same payment_ref on another account is refused (PT409)');
SELECT is((select count(*)::int from credits.ledger where account_id = 'bob' and metadata ->> 'source' = 'purchase'), 0,
          'bob was not credited alice''s payment');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, null)$$, 'PT422', 'payment_ref must be 1 to 255 characters, got null',
                 'purchase_credits refuses a missing payment_ref (PT422)');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, '')$$, 'PT422', 'payment_ref must be 1 to 255 characters, got ''''',
                 'purchase_credits refuses an empty payment_ref (PT422)');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, '   ')$$, 'PT422', 'payment_ref must be 1 to 255 characters, got ''   ''',
                 'purchase_credits refuses a blank payment_ref (PT422)');
SELECT throws_ok($$select credits.purchase_credits('alice', 0, 'stripe:pi_2')$$, 'PT422', 'amount must be above 0, got 0',
                 'purchase_credits refuses an amount of 0 (PT422)');
SELECT throws_ok($$select credits.purchase_credits('alice', 20, 'stripe:pi_2', 'gold')$$, 'PT404', 'unknown credit type gold',
                 'purchase_credits refuses an unknown credit type (PT404)');

-- Default priorities: every source once on gina, plus an explicit priority.
SELECT count(*)::text FROM unnest(array['signup', 'daily', 'monthly', 'promo', 'admin', 'migration', 'refund',
                                        'purchase']) s,
  credits.grant_credits('gina', 1, s, reason => 'priority check');
SELECT grant_id::text FROM credits.grant_credits('gina', 1, 'promo', priority => 7);
SELECT grant_id::text FROM credits.purchase_credits('gina', 1, 'stripe:pi_gina');

-- Burn-down on carol: signup 6 (never ends), then a purchase of 10, a promo of
-- 3 ending in 7 days, a daily 2 ending in 12 hours, each a minute apart.
SELECT set_config('tw.carol_signup', grant_id::text, true) FROM credits.ledger where account_id = 'carol';
SELECT tests.travel('2026-03-10 12:01+00')::text;
SELECT set_config('tw.carol_purchase', grant_id::text, true) FROM credits.purchase_credits('carol', 10, 'stripe:pi_carol');
SELECT tests.travel('2026-03-10 12:02+00')::text;
SELECT set_config('tw.carol_promo', grant_id::text, true)
FROM credits.grant_credits('carol', 3, 'promo', expires_at => '2026-03-17 12:00+00');
SELECT tests.travel('2026-03-10 12:03+00')::text;
SELECT set_config('tw.carol_daily', grant_id::text, true)
FROM credits.grant_credits('carol', 2, 'daily', expires_at => '2026-03-11 00:00+00');
SELECT results_eq(
  $$select (d ->> 'grant_id')::bigint, d ->> 'source', (d ->> 'amount')::numeric
    from credits.check_feature('carol', 'video', '{"seconds": 20}') c,
         jsonb_array_elements(c.draws) with ordinality as x (d, n) order by n$$,
  $$values (current_setting('tw.carol_daily')::bigint, 'daily'::text, 2::numeric),
           (current_setting('tw.carol_promo')::bigint, 'promo', 3),
           (current_setting('tw.carol_signup')::bigint, 'signup', 5)$$,
  'check_feature draws daily (ends in 12 h), then promo (7 days), then never-ending signup; purchase untouched');
SELECT results_eq(
  $$select ok, charged, available from credits.deduct_credits('carol', 'video', '{"seconds": 20}')$$,
  $$values (true, 10::numeric, 11::numeric)$$,
  'carol is charged 10 across three grants');
SELECT results_eq(
  $$select amount, balance_before, balance_after, draws from credits.ledger
    where account_id = 'carol' and kind = 'debit'$$,
  $$values (-10::numeric, 21::numeric, 11::numeric, jsonb_build_array(
             jsonb_build_object('grant_id', current_setting('tw.carol_daily')::bigint, 'amount', 2),
             jsonb_build_object('grant_id', current_setting('tw.carol_promo')::bigint, 'amount', 3),
             jsonb_build_object('grant_id', current_setting('tw.carol_signup')::bigint, 'amount', 5)))$$,
  'the debit''s ledger row records each of the three draws, in burn-down order');
SELECT set_config('tw.carol_debit2', transaction_id::text, true)
FROM credits.deduct_credits('carol', 'video', '{"seconds": 4}');
SELECT is((select draws from credits.ledger
           where account_id = 'carol' and transaction_id = current_setting('tw.carol_debit2')::bigint),
          jsonb_build_array(
            jsonb_build_object('grant_id', current_setting('tw.carol_signup')::bigint, 'amount', 1),
            jsonb_build_object('grant_id', current_setting('tw.carol_purchase')::bigint, 'amount', 1)),
          'purchased credits are drawn last, after the signup grant is used up');
SELECT is((select buckets from credits.get_balance('carol') where credit_type = 'credits'), '{"purchase": 9}'::jsonb,
          'only the purchase is left, 9 of it');

-- Priority overrides on dave: signup 6 (p100), a promo ending tomorrow at p150,
-- a purchase granted at p50.
SELECT set_config('tw.dave_signup', grant_id::text, true) FROM credits.ledger where account_id = 'dave';
SELECT set_config('tw.dave_promo', grant_id::text, true)
FROM credits.grant_credits('dave', 3, 'promo', expires_at => '2026-03-11 12:00+00', priority => 150);
SELECT set_config('tw.dave_purchase', grant_id::text, true)
FROM credits.grant_credits('dave', 5, 'purchase', priority => 50);
SELECT results_eq(
  $$select (d ->> 'grant_id')::bigint, (d ->> 'amount')::numeric
    from credits.check_feature('dave', 'video', '{"seconds": 24}') c,
         jsonb_array_elements(c.draws) with ordinality as x (d, n) order by n$$,
  $$values (current_setting('tw.dave_purchase')::bigint, 5::numeric),
           (current_setting('tw.dave_signup')::bigint, 6),
           (current_setting('tw.dave_promo')::bigint, 1)$$,
  'priority comes first: the p50 purchase, then p100 signup, then the p150 promo though it ends soonest');

-- Oldest first on erin: two never-ending p100 grants, signup (12:00) and migration (12:03).
SELECT set_config('tw.erin_signup', grant_id::text, true) FROM credits.ledger where account_id = 'erin';
SELECT set_config('tw.erin_migration', grant_id::text, true) FROM credits.grant_credits('erin', 4, 'migration');
SELECT results_eq(
  $$select (d ->> 'grant_id')::bigint, (d ->> 'amount')::numeric
    from credits.check_feature('erin', 'video', '{"seconds": 14}') c,
         jsonb_array_elements(c.draws) with ordinality as x (d, n) order by n$$,
  $$values (current_setting('tw.erin_signup')::bigint, 6::numeric),
           (current_setting('tw.erin_migration')::bigint, 1)$$,
  'with equal priority and no end, the oldest grant is drawn first');

-- as user alice -------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo')$$, '42501', 'permission denied for function grant_credits',
                 'a credits_user may not grant credits, even to herself');
SELECT throws_ok($$select credits.purchase_credits('alice', 5, 'stripe:pi_self')$$, '42501', 'permission denied for function purchase_credits',
                 'a credits_user may not credit a purchase');

-- as auditor ------------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo')$$, '42501', 'permission denied for function grant_credits',
                 'a credits_auditor may not grant credits');
SELECT throws_ok($$select credits.purchase_credits('alice', 5, 'stripe:pi_audit')$$, '42501', 'permission denied for function purchase_credits',
                 'a credits_auditor may not credit a purchase');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT bag_eq(
  $$select source, priority from credits_private.grants where account_id = 'gina'$$,
  $$values ('signup'::text, 100), ('signup', 100), ('daily', 100), ('monthly', 100), ('promo', 100), ('admin', 100),
           ('migration', 100), ('refund', 100), ('purchase', 200), ('promo', 7), ('purchase', 200)$$,
  'default priorities: 100 for every given source, 200 for purchases; an explicit priority is kept');
SELECT results_eq(
  $$select source, priority, expires_at, payment_ref from credits_private.grants
    where account_id = 'alice' and grant_id = current_setting('tw.pay_grant')::bigint$$,
  $$values ('purchase'::text, 200, null::timestamptz, 'stripe:pi_1'::text)$$,
  'a purchase is a never-expiring grant of source purchase at priority 200');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
