-- Rollover at a lazy renewal (issue 15; docs/contract.md, Billing depth):
-- a plan rolling {"max": 40, "fraction": 0.5} of its monthly 100: 70 unused
-- roll 35, written by the first mutating call after the period's end, with
-- the ledger showing the old allowance's expiry, the new allowance and the
-- rollover grant, which ends with the new period; reads before settling
-- report what settling writes; purchased credits never roll; the cap and
-- the fraction round down to 6 decimals.

BEGIN;
SELECT plan(9);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.act_as('credits_admin');
SELECT '' FROM credits.upsert_plan('ro_pro', monthly_allowance => '{"credits": 100}',
                                   rollover => '{"credits": {"max": 40, "fraction": 0.5}}');
SELECT '' FROM credits.upsert_plan('ro_third', monthly_allowance => '{"credits": 100}',
                                   rollover => '{"credits": {"fraction": 0.333333}}');
SELECT '' FROM unnest(array['ro_pro', 'ro_third']) p, credits.set_plan_feature(p, 'roast');

SELECT tests.act_as('credits_service');
SELECT tests.open('ro_a', 'ro_pro');
SELECT tests.open('ro_b', 'ro_third');
SELECT '' FROM credits.purchase_credits('ro_a', 50, 'pay_ro_a');
SELECT '' FROM credits.deduct_credits('ro_a', 'roast', amount => 30);
SELECT '' FROM credits.deduct_credits('ro_b', 'roast', amount => 0.5);

SELECT tests.travel('2026-04-12 08:00+00');
SELECT results_eq(
  $$select available, buckets from credits.get_balance('ro_a') where credit_type = 'credits'$$,
  $$values (185::numeric, '{"monthly": 100, "rollover": 35, "purchase": 50}'::jsonb)$$,
  'before settling: the new allowance, half of the 70 unused (35, under the cap of 40) and the purchase');
SELECT is((select available from credits.balance_at('ro_a', '2026-04-12 08:00+00') where credit_type = 'credits'), 185::numeric,
          'balance_at now counts the pending rollover too');
SELECT '' FROM credits.deduct_credits('ro_a', 'roast');
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select l.kind, l.amount, g.source, g.expires_at from credits.ledger l
    left join credits_private.grants g on g.account_id = l.account_id and g.grant_id = l.grant_id
    where l.account_id = 'ro_a' and l.created_at = '2026-04-12 08:00+00' order by l.transaction_id$$,
  $$values ('expiry'::text, -70::numeric, 'monthly'::text, '2026-04-10 12:00+00'::timestamptz),
           ('grant', 100, 'monthly', '2026-05-10 12:00+00'),
           ('grant', 35, 'rollover', '2026-05-10 12:00+00'),
           ('debit', -1, null, null)$$,
  'the first debit renews: the old allowance''s 70 expire, the new 100 and a rollover grant of 35 ending with the period');
SELECT tests.act_as('credits_service');
SELECT results_eq(
  $$select available, buckets from credits.get_balance('ro_a') where credit_type = 'credits'$$,
  $$values (184::numeric, '{"monthly": 99, "rollover": 35, "purchase": 50}'::jsonb)$$,
  'after settling: what the read before said, less the debit (purchased credits never roll, nor do they expire)');
SELECT results_eq(
  $$select available, buckets from credits.get_balance('ro_b') where credit_type = 'credits'$$,
  $$values (133.166633::numeric, '{"monthly": 100, "rollover": 33.166633}'::jsonb)$$,
  'no cap, fraction 0.333333 of 99.5 unused: 33.1666335 rounded down to 6 decimals');

-- The next renewal: only the monthly allowance rolls, never the rollover grant.
SELECT '' FROM credits.deduct_credits('ro_a', 'roast', amount => 99);
SELECT tests.travel('2026-05-11 08:00+00');
SELECT results_eq(
  $$select available, buckets from credits.get_balance('ro_a') where credit_type = 'credits'$$,
  $$values (150::numeric, '{"monthly": 100, "purchase": 50}'::jsonb)$$,
  'the whole allowance used: nothing rolls, and the unused rollover grant of 35 does not roll again');
SELECT '' FROM credits.deduct_credits('ro_a', 'roast');
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select l.kind, l.amount, g.source from credits.ledger l
    join credits_private.grants g on g.account_id = l.account_id and g.grant_id = l.grant_id
    where l.account_id = 'ro_a' and l.created_at = '2026-05-11 08:00+00' order by l.transaction_id$$,
  $$values ('expiry'::text, -35::numeric, 'rollover'::text), ('grant', 100, 'monthly')$$,
  'the renewal: the rollover grant expires unused, the new allowance, no rollover grant');
SELECT tests.act_as('credits_service');

-- Three months untouched: the last missed period's whole allowance rolls, capped.
SELECT tests.travel('2026-08-11 08:00+00');
SELECT results_eq(
  $$select available, buckets from credits.get_balance('ro_a') where credit_type = 'credits'$$,
  $$values (190::numeric, '{"monthly": 100, "rollover": 40, "purchase": 50}'::jsonb)$$,
  'missed periods: the renewal into the current period rolls the untouched allowance of the one before (capped at 40)');
SELECT '' FROM credits.deduct_credits('ro_a', 'roast');
SELECT is((select available from credits.get_balance('ro_a') where credit_type = 'credits'), 189::numeric,
          'settled lazily: the same, less the debit');

SELECT * FROM finish();
ROLLBACK;
