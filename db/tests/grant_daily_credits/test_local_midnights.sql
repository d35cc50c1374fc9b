-- The local midnights (SPEC §1 grant, §2 grant_daily_credits): at Tokyo's
-- midnight yesterday's grant no longer counts (non-cumulative) and today's is
-- reported, the job grants Tokyo only, its grant row says what is available
-- (an ended grant a hold earmarks is the hold's), and the expiry follows in
-- the ledger, one chain; at Kolkata's midnight (18:30 UTC) Kolkata only; New
-- York keeps its grant until 00:00 EDT, the day after its clocks went
-- forward, then gets the next one until the next local midnight.
-- Timeline (UTC): Mar 8 12:00 the accounts open (tests.daily_accounts());
-- 15:00 is Tokyo's midnight, 18:30 Kolkata's, Mar 9 00:00 UTC's, 04:00 New
-- York's (EDT); Apr 8 12:00 their second period begins.

BEGIN;
SELECT plan(15);
SELECT '' FROM tests.catalog();
SELECT tests.travel('2026-03-08 12:00+00');
SELECT tests.daily_accounts();

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

SELECT accounts_granted::text FROM credits.grant_daily_credits();

-- Tokyo's midnight: yesterday's grant ends, today's is issued. An hour
-- before, a hold of 3 (until 16:00) earmarks the Mar 8 grant.
SELECT tests.travel('2026-03-08 14:00+00');
SELECT results_eq(
  $$select ok, held from credits.reserve_credits('dy_tokyo', 'roast', ttl => '2 hours', amount => 3)$$,
  $$values (true, 3::numeric)$$,
  'Tokyo reserves 3 at 23:00 local, until 01:00');
SELECT tests.travel('2026-03-08 15:00+00');
SELECT results_eq(
  $$select credit_type, available, buckets from credits.get_balance('dy_tokyo')$$,
  $$values ('analysis'::text, 1::numeric, '{"daily": 1}'::jsonb), ('credits', 7, '{"daily": 5, "signup": 2}')$$,
  'at Tokyo''s midnight the Mar 8 grant no longer counts and the Mar 9 one is reported: 1 and 5, not 2 and 10');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 1, 'at 15:00 UTC the job grants Tokyo only');
SELECT results_eq(
  $$select local_day, expires_at from tests.grants()
    where account_id = 'dy_tokyo' and source = 'daily' and credit_type = 'credits' order by local_day$$,
  $$values ('2026-03-08'::date, '2026-03-08 15:00+00'::timestamptz), ('2026-03-09', '2026-03-09 15:00+00')$$,
  'Tokyo''s Mar 9 grant ends at the next local midnight, Mar 9 15:00 UTC');
SELECT results_eq(
  $$select balance_before, balance_after, available_after from credits.ledger
    where account_id = 'dy_tokyo' and credit_type = 'credits' and reason like '%for 2026-03-09'$$,
  $$values (7::numeric, 12::numeric, 7::numeric)$$,
  'the job''s grant row says what is available: the signup 2 and the new 5; the Mar 8 grant ended, its held 3 is the hold''s');
SELECT is((select grants_expired from credits.expire_grants()), 2, 'expire_grants then expires Tokyo''s two Mar 8 grants');
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after from credits.ledger
    where account_id = 'dy_tokyo' and credit_type = 'analysis' order by transaction_id$$,
  $$values ('grant'::text, 1::numeric, 0::numeric, 1::numeric), ('grant', 1, 1, 2), ('expiry', -1, 2, 1)$$,
  'Tokyo analysis ledger: Mar 8 grant, Mar 9 grant (issued before the expiry was written), Mar 8 expiry; one chain');

SELECT tests.travel('2026-03-08 18:30+00');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 1, 'at 18:30 UTC the job grants Kolkata only');
SELECT is((select local_day from tests.grants()
           where account_id = 'dy_kolkata' and source = 'daily' and credit_type = 'credits' and expires_at > credits.now()),
          '2026-03-09'::date, 'Kolkata''s new grant is for its local day Mar 9');

-- the UTC accounts' Mar 9 grants, before New York's midnight
SELECT tests.travel('2026-03-09 01:00+00');
SELECT accounts_granted::text FROM credits.grant_daily_credits();

-- New York's midnight, the day after its clocks went forward
SELECT tests.travel('2026-03-09 03:59:59+00');
SELECT is((select available from credits.get_balance('dy_ny') where credit_type = 'credits'), 7::numeric,
          'New York at 23:59:59 EDT Mar 8 still has its Mar 8 grant');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 0, 'and the job grants it nothing yet');
SELECT tests.travel('2026-03-09 04:00+00');
SELECT is((select accounts_granted from credits.grant_daily_credits()), 1, 'at 00:00 EDT the job grants New York');
SELECT results_eq(
  $$select balance_before, balance_after, available_after from credits.ledger
    where account_id = 'dy_ny' and credit_type = 'credits' and reason like '%for 2026-03-09'$$,
  $$values (7::numeric, 12::numeric, 7::numeric)$$,
  'New York''s grant row: balance 12 until the Mar 8 grant''s expiry is written, 7 available');
SELECT is((select expires_at from tests.grants()
           where account_id = 'dy_ny' and source = 'daily' and credit_type = 'credits' and local_day = '2026-03-09'),
          '2026-03-10 04:00+00'::timestamptz, 'New York''s Mar 9 grant ends at 00:00 EDT Mar 10');

SELECT tests.act_as_superuser();
SELECT is_empty($$select * from credits.reconciliation$$, 'reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
