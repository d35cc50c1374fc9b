-- Lazy rollover of a pro account (SPEC §2, the lazy settling rule): before
-- any mutating call get_balance and check_feature report the new period and
-- its pending monthly allowance (the old one's remainder does not carry
-- over, check_feature draws from the pending grant, grant_id null) and open
-- nothing; the first deduct opens the period: the old grant's remainder
-- expires, the new allowance is granted, then the debit draws from it.

BEGIN;
SELECT plan(9);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- as service: lazy rollover of a pro account ------------------------------------------------
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('pe_lazy', 'pro');
SELECT set_config('pe.lazy_g1', grant_id::text, true) FROM credits.ledger WHERE account_id = 'pe_lazy' AND kind = 'grant';
SELECT results_eq(
  $$select ok, charged, available from credits.deduct_credits('pe_lazy', 'roast', amount => 30)$$,
  $$values (true, 30::numeric, 70::numeric)$$,
  'pro account spends 30 of its 100 in the first period');
SELECT tests.travel('2026-04-12 08:00+00');
SELECT results_eq(
  $$select available, held, granted_this_period, used_this_period, period_start, period_end, next_reset_at,
           plan, unlimited, buckets
    from credits.get_balance('pe_lazy') where credit_type = 'credits'$$,
  $$values (100::numeric, 0::numeric, 100::numeric, 0::numeric, '2026-04-10 12:00+00'::timestamptz,
            '2026-05-10 12:00+00'::timestamptz, '2026-05-10 12:00+00'::timestamptz, 'pro'::text, false,
            '{"monthly": 100}'::jsonb)$$,
  'before any mutating call get_balance reports the new period: the new allowance only (the 70 left do not carry over)');
SELECT results_eq(
  $$select allowed, reason, cost, available, period_remaining, draws from credits.check_feature('pe_lazy', 'roast')$$,
  $$values (true, null::text, 1::numeric, 100::numeric, null::integer,
            '[{"grant_id": null, "source": "monthly", "amount": 1}]'::jsonb)$$,
  'check_feature before settling: allowed, drawn from the pending monthly allowance (grant_id null)');
SELECT results_eq(
  $$select period_start, (select count(*) from credits.ledger l where l.account_id = 'pe_lazy')
    from credits.accounts where account_id = 'pe_lazy'$$,
  $$values ('2026-03-10 12:00+00'::timestamptz, 2::bigint)$$,
  'get_balance and check_feature opened nothing: the stored period and the ledger are unchanged');
SELECT set_config('pe.lazy_debit', d.transaction_id::text, true), d.ok
FROM credits.deduct_credits('pe_lazy', 'roast') d;
SELECT set_config('pe.lazy_g2', grant_id::text, true) FROM credits.ledger
WHERE account_id = 'pe_lazy' AND kind = 'grant' AND created_at = '2026-04-12 08:00+00';
SELECT results_eq(
  $$select kind, amount, balance_before, balance_after, grant_id from credits.ledger
    where account_id = 'pe_lazy' and created_at = '2026-04-12 08:00+00' order by transaction_id$$,
  $$values ('expiry'::text, -70::numeric, 70::numeric, 0::numeric, current_setting('pe.lazy_g1')::bigint),
           ('grant', 100, 0, 100, current_setting('pe.lazy_g2')::bigint),
           ('debit', -1, 100, 99, null)$$,
  'the first deduct opens the period: the old grant''s 70 expire, the new allowance of 100 is granted, then the debit');
SELECT is((select draws from credits.ledger where transaction_id = current_setting('pe.lazy_debit')::bigint),
          jsonb_build_array(jsonb_build_object('grant_id', current_setting('pe.lazy_g2')::bigint, 'amount', 1)),
          'the debit draws from the new monthly grant');
SELECT results_eq(
  $$select available, granted_this_period, used_this_period, period_start, buckets
    from credits.get_balance('pe_lazy') where credit_type = 'credits'$$,
  $$values (99::numeric, 100::numeric, 1::numeric, '2026-04-10 12:00+00'::timestamptz, '{"monthly": 99}'::jsonb)$$,
  'after the deduct: 99 available, 100 granted and 1 used this period');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select grant_id, source, amount, remaining, expires_at from credits_private.grants
    where account_id = 'pe_lazy' order by grant_id$$,
  $$values (current_setting('pe.lazy_g1')::bigint, 'monthly'::text, 100::numeric, 0::numeric, '2026-04-10 12:00+00'::timestamptz),
           (current_setting('pe.lazy_g2')::bigint, 'monthly', 100, 99, '2026-05-10 12:00+00')$$,
  'lazy rollover: the old monthly grant is emptied, the new one expires at the new period_end');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
