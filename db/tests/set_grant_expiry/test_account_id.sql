-- set_grant_expiry with account_id (the contract §4: the grant's account,
-- required on Citus, optional on a single node): naming the grant's account
-- moves its end as without; naming another account is PT404 'unknown grant',
-- as for one that does not exist, and moves nothing.

BEGIN;
SELECT plan(4);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['sa_own', 'sa_other']) a;
INSERT INTO tests.ids SELECT 'sa_promo', grant_id
FROM credits.grant_credits('sa_own', 5, 'promo', expires_at => '2026-04-01 00:00+00');

SELECT tests.act_as('credits_admin');
SELECT throws_ok(format('select * from credits.set_grant_expiry(%s, null, %L, %L)', tests.id('sa_promo'), 'goodwill',
                        'sa_other'),
                 'PT404', format('unknown grant %s', tests.id('sa_promo')),
                 'set_grant_expiry naming another account than the grant''s is PT404, as an unknown grant');
SELECT tests.act_as_superuser();
SELECT is((select expires_at from credits_private.grants where grant_id = tests.id('sa_promo')),
          '2026-04-01 00:00+00'::timestamptz, 'the refused call left the grant''s end');
SELECT tests.act_as('credits_admin');
SELECT is((select previous_expires_at
           from credits.set_grant_expiry(tests.id('sa_promo'), null, 'goodwill', 'sa_own')),
          '2026-04-01 00:00+00'::timestamptz, 'naming the grant''s account moves its end');
SELECT tests.act_as_superuser();
SELECT is((select expires_at from credits_private.grants where grant_id = tests.id('sa_promo')), null::timestamptz,
          'the grant never ends now');

SELECT * FROM finish();
ROLLBACK;
