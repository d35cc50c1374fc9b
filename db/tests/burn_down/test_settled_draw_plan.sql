-- The draw of a settled balance (credits_private._settled_draw_plan, what
-- deduct_credits draws once its UPDATE matched a balance with nothing to
-- settle, and what check_feature's settled read shows) is the draw of
-- credits_private._draw_plan, the burn-down order's home: the same grants,
-- in the same order, from the same sources, taking the same amounts, for
-- grants of every priority, end and start (a purchase ending first but
-- drawn last, its priority being 200), a grant partly held and a
-- future-dated one (all of it held until it starts), whatever the cost.

BEGIN;
SELECT plan(7);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.act_as('credits_service');
SELECT tests.open('sdp');
SELECT '' FROM credits.grant_credits('sdp', 4, 'promo', expires_at => '2026-03-20 00:00+00');
SELECT '' FROM credits.grant_credits('sdp', 3, 'promo', expires_at => '2026-03-15 00:00+00');
SELECT '' FROM credits.grant_credits('sdp', 2, 'promo', priority => 7);
SELECT '' FROM credits.purchase_credits('sdp', 10, 'stripe:pi_sdp', expires_at => '2026-03-14 00:00+00');
SELECT '' FROM credits.grant_credits('sdp', 5, 'promo', starts_at => '2026-03-12 00:00+00');
SELECT '' FROM credits.reserve_credits('sdp', 'roast', amount => 1.5, ttl => '30 minutes');
SELECT tests.act_as_superuser();
SELECT is((select count(*) from credits_private.balances b
           where b.account_id = 'sdp' and b.settle_at > credits.now()), 1::bigint,
          'the balance is settled: its settle_at is ahead');
SELECT results_eq(
  format($$select draw_order, grant_id, source, take from credits_private._settled_draw_plan('sdp', 'credits', %s)$$, c),
  format($$select draw_order, grant_id, source, take from credits_private._draw_plan('sdp', 'credits', %s, credits.now())$$, c),
  format('a cost of %s: the same draws', c))
FROM unnest(array[0.5, 2, 3.25, 11, 21.5, 1000]) c;

SELECT * FROM finish();
ROLLBACK;
