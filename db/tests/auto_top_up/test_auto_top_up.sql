-- set_auto_top_up, fail_top_up and purchase_credits answering a request
-- (contract §8 auto top-up): a debit that leaves the balance below the
-- threshold writes one request and its top_up_requested event in its own
-- transaction; no second while it is open; a decline (fail_top_up) doubles
-- the cooldown; the purchase named by the request id fulfils it once (a
-- retry returns the same grant, other credits are PT409) with the request's
-- price; past the monthly limit nothing is requested; a null threshold turns
-- it off. Errors name their values; users may not set it (42501).

BEGIN;
SELECT plan(23);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: tu (6 signup + 20 promo = 26) ----------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['tu', 'other']) a;
SELECT '' FROM credits.grant_credits('tu', 20, 'promo');
SELECT results_eq(
  $$select threshold, credits, price, currency, cooldown, backoff, monthly_limit, next_request_at
    from credits.set_auto_top_up('tu', 'credits', 10, 50, 4.99, '1 hour', 100, 'EUR')$$,
  $$values (10::numeric, 50::numeric, 4.99::numeric, 'EUR'::text, '1 hour'::interval, '1 hour'::interval,
            100::numeric, null::timestamptz)$$,
  'set_auto_top_up returns the settings');
SELECT '' FROM credits.deduct_credits('tu', 'roast', amount => 15);
SELECT is_empty($$select * from credits.top_up_requests$$, 'a debit that leaves 11 (not below 10) requests nothing');
INSERT INTO tests.charged SELECT 'tu_cross', * FROM credits.deduct_credits('tu', 'roast', amount => 2);
SELECT '' FROM credits.top_up_requests r, set_config('tw.r1', r.request_id, true);
SELECT results_eq(
  $$select request_id, account_id, credits, price, currency, status, transaction_id from credits.top_up_requests$$,
  $$values (current_setting('tw.r1'), 'tu'::text, 50::numeric, 4.99::numeric, 'EUR'::text, 'open'::text,
            tests.tx('tu_cross'))$$,
  'the debit that leaves 9 writes one open request naming it');
SELECT results_eq(
  $$select kind, payload ->> 'request_id', (payload ->> 'credits')::numeric, (payload ->> 'available')::numeric
    from credits.events where account_id = 'tu' and kind = 'top_up_requested'$$,
  $$select 'top_up_requested'::text, request_id, 50::numeric, 9::numeric from credits.top_up_requests$$,
  'and one top_up_requested event carrying the request id');
SELECT '' FROM credits.deduct_credits('tu', 'roast', amount => 1);
SELECT is((select count(*) from credits.top_up_requests), 1::bigint, 'no second request while one is open');

-- declined: the back-off doubles ------------------------------------------------------------
SELECT results_eq(
  $$select status, reason from credits.fail_top_up(current_setting('tw.r1'), 'card declined')$$,
  $$values ('failed'::text, 'card declined'::text)$$, 'fail_top_up fails the request');
SELECT results_eq($$select backoff, next_request_at from credits.auto_top_ups$$,
                  $$values ('2 hours'::interval, '2026-03-10 14:00+00'::timestamptz)$$,
                  'a decline doubles the cooldown: no request before 14:00');
SELECT '' FROM credits.fail_top_up(current_setting('tw.r1'), 'again');
SELECT is((select backoff from credits.auto_top_ups), '2 hours'::interval, 'failing it again changes nothing');
SELECT tests.travel('2026-03-10 13:59+00');
SELECT '' FROM credits.deduct_credits('tu', 'roast', amount => 1);
SELECT is((select count(*) from credits.top_up_requests), 1::bigint, 'no request within the doubled cooldown');
SELECT tests.travel('2026-03-10 14:00+00');
SELECT '' FROM credits.deduct_credits('tu', 'roast', amount => 1);
SELECT '' FROM credits.top_up_requests r, set_config('tw.r2', r.request_id, true) WHERE r.status = 'open';
SELECT is((select status from credits.top_up_requests where request_id = current_setting('tw.r2')), 'open',
          'after it the next debit below the threshold requests again');

-- the worker's purchase answers it ---------------------------------------------------------
SELECT is((select available from credits.purchase_credits('tu', 50, current_setting('tw.r2'))), 56::numeric,
          'purchase_credits with the request id credits it: 6 + 50');
SELECT is((select available from credits.purchase_credits('tu', 50, current_setting('tw.r2'))), 56::numeric,
          'a retried worker credits it once');
SELECT results_eq(
  $$select r.status, l.kind, l.amount, l.metadata ->> 'source' from credits.top_up_requests r
    join credits.ledger l on l.grant_id = r.grant_id where r.request_id = current_setting('tw.r2')$$,
  $$values ('fulfilled'::text, 'grant'::text, 50::numeric, 'purchase'::text)$$,
  'the request is fulfilled by one purchase grant');
SELECT throws_ok(format('select * from credits.purchase_credits(%L, 60, %L)', 'tu', current_setting('tw.r2')),
                 'PT409', format('payment %s answers top-up request %s with other arguments',
                                 current_setting('tw.r2'), current_setting('tw.r2')),
                 'a purchase of other credits for the request is refused (PT409)');
SELECT throws_ok(format('select * from credits.fail_top_up(%L, %L)', current_setting('tw.r2'), 'late'),
                 'PT409', format('top-up request %s was fulfilled by grant %s', current_setting('tw.r2'),
                                 (select grant_id from credits.top_up_requests
                                  where request_id = current_setting('tw.r2'))),
                 'a fulfilled request cannot fail (PT409)');

-- the monthly limit: 50 requested this period, 100 allowed ------------------------------------
SELECT tests.travel('2026-03-10 15:00+00');
SELECT '' FROM credits.deduct_credits('tu', 'roast', amount => 47);
SELECT '' FROM credits.top_up_requests r, set_config('tw.r3', r.request_id, true) WHERE r.status = 'open';
SELECT '' FROM credits.purchase_credits('tu', 50, current_setting('tw.r3'));
SELECT tests.travel('2026-03-10 16:00+00');
SELECT '' FROM credits.deduct_credits('tu', 'roast', amount => 50);
SELECT is((select count(*) from credits.top_up_requests where status = 'fulfilled'), 2::bigint,
          'two requests of 50 fulfilled; the next would pass the monthly limit of 100: none');
SELECT is((select count(*) from credits.top_up_requests), 3::bigint, 'no fourth request');

-- errors and turning it off -------------------------------------------------------------------
SELECT throws_ok($$select * from credits.set_auto_top_up('tu', 'credits', 10, 50, monthly_limit => 20)$$, 'PT422',
                 'monthly_limit 20 is below credits 50: no request could be made',
                 'a monthly limit below one request is refused (PT422)');
SELECT throws_ok($$select * from credits.fail_top_up('top_up_x', 'declined')$$, 'PT404',
                 'unknown top-up request top_up_x', 'an unknown request raises PT404');
SELECT '' FROM credits.set_auto_top_up('other', 'credits', 5, 10);
SELECT '' FROM credits.set_auto_top_up('other', 'credits', null, null);
SELECT '' FROM credits.deduct_credits('other', 'roast', amount => 5);
SELECT is_empty($$select * from credits.top_up_requests where account_id = 'other'$$,
                'a null threshold turned it off: nothing requested');

-- as user tu ------------------------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'tu');
SELECT throws_ok($$select * from credits.set_auto_top_up('tu', 'credits', 10, 50)$$, '42501',
                 'permission denied for function set_auto_top_up', 'a user may not set an auto top-up (42501)');
SELECT is((select count(*) from credits.top_up_requests), 3::bigint, 'a user sees its own requests');

-- as superuser ------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
