-- Per-period feature limits reset with the period (SPEC §2): on the free
-- plan (chapter limited to 3) the fourth chapter of a period is refused; in
-- the next period, settled or not, chapter is allowed again and
-- used_this_period counts only the new period; the free plan rolls over
-- without a grant (a period row, the signup grant still the only grant).

BEGIN;
SELECT plan(13);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service ------------------------------------------------------------------------
SELECT tests.act_as('credits_service');

-- as service: per-period feature limits (free plan, chapter limited to 3) --------------------
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('pe_chap');
SELECT results_eq(
  $$select d.ok, d.available from generate_series(1, 3) i,
    lateral credits.deduct_credits('pe_chap', 'chapter', metadata => jsonb_build_object('i', i)) d order by i$$,
  $$values (true, 5::numeric), (true, 4::numeric), (true, 3::numeric)$$,
  'free plan: three chapters in the first period');
SELECT results_eq(
  $$select ok, reason, charged, available from credits.deduct_credits('pe_chap', 'chapter')$$,
  $$values (false, 'period_limit_reached'::text, 0::numeric, 3::numeric)$$,
  'the fourth chapter in the period is refused with period_limit_reached');
SELECT results_eq(
  $$select allowed, reason, period_remaining from credits.check_feature('pe_chap', 'chapter')$$,
  $$values (false, 'period_limit_reached'::text, 0)$$,
  'check_feature: no chapter left this period');
SELECT is((select used_this_period from credits.get_balance('pe_chap') where credit_type = 'credits'), 3::numeric,
          'used_this_period is 3 in the first period');
SELECT tests.travel('2026-04-10 12:00+00');
SELECT results_eq(
  $$select allowed, reason, cost, available, period_remaining from credits.check_feature('pe_chap', 'chapter')$$,
  $$values (true, null::text, 1::numeric, 3::numeric, 3)$$,
  'in the next period (not yet settled) check_feature allows chapter again, 3 left');
SELECT results_eq(
  $$select available, granted_this_period, used_this_period, period_start, period_end
    from credits.get_balance('pe_chap') where credit_type = 'credits'$$,
  $$values (3::numeric, 0::numeric, 0::numeric, '2026-04-10 12:00+00'::timestamptz, '2026-05-10 12:00+00'::timestamptz)$$,
  'free plan rolled over: nothing granted, used_this_period reset, the signup credits left stay');
SELECT results_eq(
  $$select ok, reason, charged, available from credits.deduct_credits('pe_chap', 'chapter')$$,
  $$values (true, null::text, 1::numeric, 2::numeric)$$,
  'the first chapter of the new period is charged');
SELECT is((select period_remaining from credits.check_feature('pe_chap', 'chapter')), 2,
          'two chapters left in the new period');
SELECT results_eq(
  $$select granted_this_period, used_this_period from credits.get_balance('pe_chap') where credit_type = 'credits'$$,
  $$values (0::numeric, 1::numeric)$$,
  'used_this_period counts only the new period');
SELECT results_eq(
  $$select kind, amount from credits.ledger where account_id = 'pe_chap' and kind <> 'debit' order by transaction_id$$,
  $$values ('grant'::text, 6::numeric)$$,
  'free plan: the signup grant is the only grant, rollover issued none');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select count(*)::int, count(*) filter (where source = 'signup')::int from credits_private.grants
    where account_id = 'pe_chap'$$,
  $$values (1, 1)$$,
  'free plan rollover: the signup grant is still the only grant');
SELECT is((select count(*)::int from credits_private.periods where account_id = 'pe_chap'), 2,
          'free plan rollover opened a period row without a grant');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
