-- grant_credits(starts_at) (contract §8): a future-dated grant is in the
-- ledger from the call (its grant row names starts_at) but is not available,
-- not drawn and not held in get_balance's sense before it starts; from its
-- start it counts, before any job or settlement ran (lazily), and a debit
-- draws it; balance_at is exact on both sides of the start; an expires_at
-- not after starts_at is refused (PT422, naming both); voiding it before
-- it starts takes all of it back; a starts_at not in the future counts at once.

BEGIN;
SELECT plan(19);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: fd (6 signup credits), a promo of 10 from 03-15 to 03-20 -------------
SELECT tests.act_as('credits_service');
SELECT tests.open('fd');
SELECT is(g.available, 6::numeric, 'a future-dated grant is not available: 6 after the grant')
FROM credits.grant_credits('fd', 10, 'promo', expires_at => '2026-03-20 00:00+00', starts_at => '2026-03-15 00:00+00') g,
     set_config('tw.fd_promo', g.grant_id::text, true);
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, available_after, (metadata ->> 'starts_at')::timestamptz
    from credits.ledger where account_id = 'fd' and grant_id = current_setting('tw.fd_promo')::bigint$$,
  $$values ('grant'::text, 10::numeric, 6::numeric, 16::numeric, 6::numeric, '2026-03-15 00:00+00'::timestamptz)$$,
  'its grant row is written now, with its start in the metadata, and available_after leaves it out');
SELECT results_eq($$select available, held, buckets from credits.get_balance('fd') where credit_type = 'credits'$$,
                  $$values (6::numeric, 0::numeric, '{"signup": 6}'::jsonb)$$,
                  'get_balance: not available, not held by a hold, not in the buckets before it starts');
SELECT is((select draws from credits.check_feature('fd', 'roast')),
          jsonb_build_array(jsonb_build_object('grant_id', tests.signup('fd'), 'amount', 1, 'source', 'signup')),
          'check_feature draws from the signup grant only');
SELECT results_eq($$select ok, reason from credits.deduct_credits('fd', 'video', '{"seconds": 14}')$$,
                  $$values (false, 'insufficient_credits'::text)$$,
                  'a debit of 7 before the start is refused: only 6 are available');
SELECT throws_ok($$select * from credits.grant_credits('fd', 5, 'promo', expires_at => '2026-03-14 00:00+00',
                                                       starts_at => '2026-03-15 00:00+00')$$, 'PT422',
                 format('expires_at %s is not after starts_at %s', '2026-03-14 00:00+00'::timestamptz,
                        '2026-03-15 00:00+00'::timestamptz),
                 'an expires_at before starts_at is refused (PT422), naming both');
SELECT throws_ok($$select * from credits.grant_credits('fd', 5, 'promo', expires_at => '2026-03-15 00:00+00',
                                                       starts_at => '2026-03-15 00:00+00')$$, 'PT422',
                 format('expires_at %s is not after starts_at %s', '2026-03-15 00:00+00'::timestamptz,
                        '2026-03-15 00:00+00'::timestamptz),
                 'an expires_at equal to starts_at is refused (PT422)');
SELECT is((select available from credits.grant_credits('fd', 1, 'promo', starts_at => '2026-03-01 00:00+00')),
          7::numeric, 'a starts_at in the past counts at once');

-- 03-15 12:00: started, nothing settled it yet ---------------------------------------
SELECT tests.travel('2026-03-15 12:00+00');
SELECT results_eq($$select available, buckets from credits.get_balance('fd') where credit_type = 'credits'$$,
                  $$values (17::numeric, '{"signup": 6, "promo": 11}'::jsonb)$$,
                  'from its start it is available, before anything settled it');
SELECT is((select available from credits.balance_at('fd', '2026-03-14 23:59:59+00') where credit_type = 'credits'),
          7::numeric, 'balance_at just before the start: without it');
SELECT is((select available from credits.balance_at('fd', '2026-03-15 00:00+00') where credit_type = 'credits'),
          17::numeric, 'balance_at at the start: with it');
SELECT results_eq($$select ok, charged, available from credits.deduct_credits('fd', 'video', '{"seconds": 24}')$$,
                  $$values (true, 12::numeric, 5::numeric)$$,
                  'a debit of 12 after the start is charged');
SELECT is((select draws from credits.ledger where transaction_id = tests.last_tx('fd')),
          jsonb_build_array(jsonb_build_object('grant_id', current_setting('tw.fd_promo')::bigint, 'amount', 10),
                            jsonb_build_object('grant_id', tests.signup('fd'), 'amount', 2)),
          'it draws all of the started grant (it ends first), then 2 of the signup grant');

-- 03-16: another future grant, voided before it starts (as admin) ----------------------
SELECT tests.travel('2026-03-16 12:00+00');
SELECT '' FROM credits.grant_credits('fd', 4, 'promo', starts_at => '2026-04-01 00:00+00') g,
       set_config('tw.fd_april', g.grant_id::text, true);
SELECT tests.act_as_superuser();
SELECT tests.holds_are_consistent();
SELECT tests.act_as('credits_admin');
SELECT is((select voided from credits.void_grant(current_setting('tw.fd_april')::bigint, 'not earned')), 4::numeric,
          'voiding a grant that has not started takes all of it back');
SELECT is((select available from credits.balance_at('fd', '2026-03-16 12:00+00') where credit_type = 'credits'),
          5::numeric, 'balance_at after the void is unchanged by the never-started grant');

-- as superuser ------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT tests.ledger_is_chained();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
