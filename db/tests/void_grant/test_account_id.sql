-- void_grant with account_id (the contract §4: the grant's account,
-- required on Citus, optional on a single node): naming the grant's account
-- voids it as without; naming another account is PT404 'unknown grant', as
-- for one that does not exist, and voids nothing.

BEGIN;
SELECT plan(4);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['va_own', 'va_other']) a;
INSERT INTO tests.ids SELECT 'va_promo', grant_id FROM credits.grant_credits('va_own', 5, 'promo');

SELECT tests.act_as('credits_admin');
SELECT throws_ok(format('select * from credits.void_grant(%s, %L, %L)', tests.id('va_promo'), 'abuse', 'va_other'),
                 'PT404', format('unknown grant %s', tests.id('va_promo')),
                 'void_grant naming another account than the grant''s is PT404, as an unknown grant');
SELECT is((select available from tests.bal('va_own')), 11::numeric, 'the refused void left the grant (11 available)');
SELECT is((select voided from credits.void_grant(tests.id('va_promo'), 'abuse', 'va_own')), 5::numeric,
          'void_grant naming the grant''s account voids it (5)');
SELECT is((select available from tests.bal('va_own')), 6::numeric, 'after the void: the signup 6');

SELECT * FROM finish();
ROLLBACK;
