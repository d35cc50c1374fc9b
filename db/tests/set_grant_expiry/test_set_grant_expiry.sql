-- set_grant_expiry (contract §8, §1 hold): an admin moves a grant's end
-- later or earlier (null: never) in an `expiry_changed` ledger row (amount 0,
-- the old and new ends in its metadata, the reason); the same end again
-- writes nothing; an end already passed expires the grant at once, in the
-- same call (its `expiry` row); a hold earmarking a given grant lapses at
-- most 15 minutes after its new end; an unknown grant PT404, no reason, an
-- ended grant or an end not after the start PT422; the service and users 42501.

BEGIN;
SELECT plan(16);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: se (6 signup credits) and a priority-10 promo of 10 ending 03-20 ---------
SELECT tests.act_as('credits_service');
SELECT tests.open('se');
INSERT INTO tests.ids SELECT 'se_promo', grant_id
FROM credits.grant_credits('se', 10, 'promo', expires_at => '2026-03-20 00:00+00', priority => 10);

-- as admin ------------------------------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT results_eq(
  $$select previous_expires_at, expired, available
    from credits.set_grant_expiry(tests.id('se_promo'), '2026-04-30 00:00+00', 'support: extended')$$,
  $$values ('2026-03-20 00:00+00'::timestamptz, 0::numeric, 16::numeric)$$,
  'extending returns the old end, nothing expired, 16 available');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, grant_id, reason,
           (metadata ->> 'from')::timestamptz, (metadata ->> 'to')::timestamptz
    from credits.ledger where transaction_id = tests.last_tx('se')$$,
  $$values ('expiry_changed'::text, 0::numeric, 16::numeric, 16::numeric, tests.id('se_promo'),
            'support: extended'::text, '2026-03-20 00:00+00'::timestamptz, '2026-04-30 00:00+00'::timestamptz)$$,
  'an expiry_changed ledger row of 0 names the grant, the reason and both ends');
SELECT '' FROM credits.set_grant_expiry(tests.id('se_promo'), '2026-04-30 00:00+00', 'again');
SELECT is((select count(*) from credits.ledger where account_id = 'se' and kind = 'expiry_changed'), 1::bigint,
          'the same end again writes no second row');
SELECT tests.travel('2026-03-25 12:00+00');
SELECT is((tests.bal('se')).available, 16::numeric, 'past its old end the extended grant still counts');

-- a hold earmarking it, then its end moved to 12:10 --------------------------------------
SELECT tests.act_as('credits_service');
INSERT INTO tests.reserved SELECT 'se_hold', * FROM credits.reserve_credits('se', 'roast', ttl => '2 hours');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.set_grant_expiry(tests.id('se_promo'), '2026-03-25 12:10+00', 'support: ends today');
SELECT is((select expires_at from tests.holds(array['se'])), '2026-03-25 12:25+00'::timestamptz,
          'a hold earmarking the grant now lapses 15 minutes after the new end');
SELECT is((tests.bal('se')).available, 15::numeric, 'before its new end the grant counts (1 is held)');

-- its end moved to before now: expires at once ---------------------------------------------
SELECT tests.act_as_superuser();
SELECT tests.mark();
SELECT tests.act_as('credits_admin');
SELECT results_eq(
  $$select expired, available from credits.set_grant_expiry(tests.id('se_promo'), '2026-03-25 11:00+00',
                                                             'support: revoked')$$,
  $$values (10::numeric, 6::numeric)$$,
  'an end already passed expires the grant at once: 10 written off (its hold lapsed), 6 available');
SELECT results_eq(
  $$select kind, amount from credits.ledger where account_id = 'se' and kind in ('expiry_changed', 'expiry')
    order by transaction_id desc limit 2$$,
  $$values ('expiry'::text, -10::numeric), ('expiry_changed'::text, 0::numeric)$$,
  'its expiry_changed row, then its expiry row');
SELECT is((select status from tests.holds(array['se'])), 'expired', 'the hold lapsed with it');
SELECT throws_ok(format('select * from credits.set_grant_expiry(%s, null, %L)', tests.id('se_promo'), 'revive'),
                 'PT422', format('grant %s has ended: expired at %s', tests.id('se_promo'),
                                 '2026-03-25 12:00+00'::timestamptz),
                 'an ended grant cannot get a new end (PT422)');
SELECT throws_ok(format('select * from credits.set_grant_expiry(%s, %L, %L)', tests.signup('se'),
                        '2026-03-01 00:00+00', 'before its start'),
                 'PT422', format('expires_at %s is not after starts_at %s of grant %s',
                                 '2026-03-01 00:00+00'::timestamptz, '2026-03-10 12:00+00'::timestamptz,
                                 tests.signup('se')),
                 'an end before the grant''s start is refused (PT422)');
SELECT throws_ok($$select * from credits.set_grant_expiry(-1, null, 'no such grant')$$, 'PT404', 'unknown grant -1',
                 'an unknown grant raises PT404');
SELECT throws_ok(format('select * from credits.set_grant_expiry(%s, null, null)', tests.signup('se')), 'PT422',
                 format('a reason is required to change the expiry of grant %s', tests.signup('se')),
                 'a missing reason raises PT422');

-- as service and as a user ----------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT throws_ok(format('select * from credits.set_grant_expiry(%s, null, %L)', tests.signup('se'), 'service'),
                 '42501', 'permission denied for function set_grant_expiry', 'credits_service may not (42501)');
SELECT tests.act_as('credits_user', 'se');
SELECT throws_ok(format('select * from credits.set_grant_expiry(%s, null, %L)', tests.signup('se'), 'mine'),
                 '42501', 'permission denied for function set_grant_expiry', 'a user may not, even her own (42501)');

-- as superuser ------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
