-- A grant drawn to 0 and then ended has nothing to write off (no expiry
-- row), but it has ended all the same: moving its end again is PT422, so a
-- later refund cannot bring its credits back to life (found by the model
-- test).

BEGIN;
SELECT plan(2);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

SELECT tests.act_as('credits_service');
SELECT tests.open('sd_user');
INSERT INTO tests.ids SELECT 'sd_promo', grant_id
FROM credits.grant_credits('sd_user', 4, 'promo', expires_at => '2026-03-10 18:00+00');

SELECT '' FROM credits.deduct_credits('sd_user', 'roast', amount => 10);
SELECT tests.act_as('credits_admin');
SELECT tests.travel('2026-03-10 12:30+00');
SELECT is((select expired from credits.set_grant_expiry(tests.id('sd_promo'), '2026-03-10 12:30+00', 'drawn')),
          0::numeric, 'a grant drawn to 0 ends now with nothing to write off');
SELECT throws_ok(format('select * from credits.set_grant_expiry(%s, null, %L)', tests.id('sd_promo'), 'revive'),
                 'PT422', format('grant %s has ended: expired at 2026-03-10 12:30:00+00', tests.id('sd_promo')),
                 'an ended grant drawn to 0 cannot be given a new end');

SELECT * FROM finish();
ROLLBACK;
