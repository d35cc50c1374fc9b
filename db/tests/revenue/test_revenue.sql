-- credits.revenue and credits.breakage (contract §8 cost basis): a
-- purchase's price (purchase_credits(price, currency)) is recognized as its
-- credits are spent, per day, feature and currency, exactly: three debits of
-- a third of a 10.00 EUR pack make 3.33 + 3.34 + 3.33; a refund reverses
-- its debit's revenue; credits that expire unspent are breakage, worth what
-- was not recognized; given credits are worth nothing. price and currency go
-- together (PT422), a currency is an ISO code (PT422), a retry with another
-- price is PT409. A user sees only what its own ledger makes.

BEGIN;
SELECT plan(12);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: rv (6 signup, 10 credits for 5 USD ending 03-20), rv3 (3 for 10.00 EUR) --------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['rv', 'rv3']) a;
SELECT '' FROM credits.purchase_credits('rv', 10, 'pay:rv-1', expires_at => '2026-03-20 00:00+00', price => 5,
                                        currency => 'USD');
SELECT '' FROM credits.purchase_credits('rv3', 3, 'pay:rv3-1', price => 10.00, currency => 'EUR');
INSERT INTO tests.charged SELECT 'rv_a', * FROM credits.deduct_credits('rv', 'roast', amount => 7);
INSERT INTO tests.charged SELECT 'rv_b', * FROM credits.deduct_credits('rv', 'chapter', amount => 4);
SELECT '' FROM credits.deduct_credits('rv3', 'roast', amount => 7);
SELECT '' FROM credits.deduct_credits('rv3', 'roast', amount => 1);
SELECT '' FROM credits.deduct_credits('rv3', 'chapter', amount => 1);

SELECT results_eq(
  $$select day, feature, currency, credits, revenue from credits.revenue order by currency, feature$$,
  $$values ('2026-03-10'::date, 'chapter'::text, 'EUR'::text, 1::numeric, 3.33::numeric),
           ('2026-03-10'::date, 'roast'::text, 'EUR'::text, 2::numeric, 6.67::numeric),
           ('2026-03-10'::date, 'chapter'::text, 'USD'::text, 4::numeric, 2.00::numeric),
           ('2026-03-10'::date, 'roast'::text, 'USD'::text, 1::numeric, 0.50::numeric)$$,
  'revenue per day, feature and currency: only paid credits count (the signup credits went first)');
SELECT is((select sum(revenue) from credits.revenue where currency = 'EUR'), 10.00::numeric,
          'a pack spent in thirds adds up to its price exactly');
SELECT throws_ok($$select * from credits.purchase_credits('rv', 1, 'pay:x', price => 1)$$, 'PT422',
                 'price 1 and currency null go together', 'a price without a currency is refused (PT422)');
SELECT throws_ok($$select * from credits.purchase_credits('rv', 1, 'pay:x', price => 1, currency => 'usd')$$, 'PT422',
                 'invalid currency usd', 'a currency that is not an ISO code is refused (PT422)');
SELECT throws_ok($$select * from credits.purchase_credits('rv3', 3, 'pay:rv3-1', price => 11, currency => 'EUR')$$,
                 'PT409', 'payment pay:rv3-1 was already credited with other arguments',
                 'the same payment with another price is refused (PT409)');
SELECT is((select count(*) from credits.purchase_credits('rv3', 3, 'pay:rv3-1', price => 10, currency => 'EUR')),
          1::bigint, 'the same payment with the same price returns the first grant');

-- as admin: the chapter debit refunded on 03-11 ----------------------------------------------
SELECT tests.travel('2026-03-11 12:00+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.refund_transaction(tests.tx('rv_b'), 'render failed');
SELECT results_eq(
  $$select feature, credits, revenue from credits.revenue where currency = 'USD' and day = '2026-03-11'$$,
  $$values ('chapter'::text, -4::numeric, -2.00::numeric)$$,
  'a refund reverses the revenue its debit recognized, on the day of the refund');

-- 03-21: the USD pack expired with 9 left ----------------------------------------------------
SELECT tests.travel('2026-03-21 12:00+00');
SELECT tests.act_as('credits_service');
SELECT '' FROM credits.expire_grants();
SELECT results_eq($$select day, credit_type, currency, credits, breakage from credits.breakage$$,
                  $$values ('2026-03-21'::date, 'credits'::text, 'USD'::text, 9::numeric, 4.50::numeric)$$,
                  'the 9 paid credits that expired unspent are breakage, worth 4.50 USD');
SELECT is((select sum(revenue) from credits.revenue where currency = 'USD')
          + (select sum(breakage) from credits.breakage where currency = 'USD'), 5.00::numeric,
          'revenue and breakage add up to the price once every credit has moved');

-- as user rv3 ---------------------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'rv3');
SELECT is((select array_agg(distinct currency) from credits.revenue), array['EUR'],
          'a user sees only the revenue its own ledger makes');
SELECT is_empty($$select * from credits.breakage$$, 'and no other account''s breakage');

-- as superuser ------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
