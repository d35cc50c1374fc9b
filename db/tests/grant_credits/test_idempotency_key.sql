-- grant_credits with an idempotency_key (SPEC §2 Granting): a retry with the
-- same key and arguments returns the first grant and its available and adds
-- nothing, also when its amount is written 5.000000 or its expires_at in
-- another time zone; the same key with another amount, source or expires_at
-- is PT409 naming the key; keys are per account.

BEGIN;
SELECT plan(9);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['alice', 'bob']) a;
SELECT grant_id::text FROM credits.grant_credits('alice', 15, 'promo');  -- 21 available, as the keyed grant finds them

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
                                                idempotency_key => 'promo-march')$$, 'PT409',
                 'idempotency key promo-march of account alice was used with other arguments',
                 'the same key with another amount is refused (PT409)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'daily', expires_at => '2026-04-01 00:00+00',
                                                idempotency_key => 'promo-march')$$, 'PT409',
                 'idempotency key promo-march of account alice was used with other arguments',
                 'the same key with another source is refused (PT409)');
SELECT throws_ok($$select credits.grant_credits('alice', 5, 'promo', idempotency_key => 'promo-march')$$, 'PT409',
                 'idempotency key promo-march of account alice was used with other arguments',
                 'the same key with another expires_at is refused (PT409)');
SELECT isnt((select grant_id from credits.grant_credits('bob', 5, 'promo', expires_at => '2026-04-01 00:00+00',
                                                        idempotency_key => 'promo-march')),
            current_setting('tw.key_grant')::bigint,
            'keys are per account: bob''s promo-march is a grant of its own');

SELECT * FROM finish();
ROLLBACK;
