-- Billing periods (SPEC §1 period and grant, §2 Accounts and balances,
-- get_or_create_active_period, the lazy settling rule, §3 roles).
--
-- Period arithmetic: monthly from the billing anchor in the account's time
-- zone, the day clamped (UTC opened Jan 31: Feb 28, Mar 31, Apr 30), local
-- wall-clock time kept across DST (Europe/Paris, America/New_York).
-- get_or_create_active_period: the same period while it runs, the next one
-- opened exactly once past period_end, an idle account gets only the period
-- containing now. Lazy rollover: before any mutating call get_balance and
-- check_feature report the new period and its pending monthly allowance (the
-- old one does not carry over); the first deduct opens the period (new
-- monthly grant, expiry of the old one's remainder). Per-period feature
-- limits reset with the period. The signup grant is issued once; a plan with
-- no monthly allowance rolls over without a grant. Users read their rolled
-- period but may not call get_or_create_active_period (42501); unknown
-- account PT404.

BEGIN;
SELECT plan(62);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as admin (superuser): a plan with both a signup grant and a monthly allowance
SELECT code FROM credits.upsert_plan('starter', signup_grant => '{"credits": 10}',
                                     monthly_allowance => '{"credits": 20}');
SELECT feature FROM credits.set_plan_feature('starter', 'roast');

-- as service: period arithmetic ----------------------------------------------------
SELECT tests.act_as('credits_service');

-- UTC, opened Jan 31 10:00: the day is clamped to short months and restored after
SELECT tests.travel('2026-01-31 10:00+00');
SELECT results_eq(
  $$select billing_anchor, period_start, period_end from credits.open_account('pe_utc')$$,
  $$values ('2026-01-31 10:00+00'::timestamptz, '2026-01-31 10:00+00'::timestamptz, '2026-02-28 10:00+00'::timestamptz)$$,
  'UTC account opened Jan 31 10:00: first period Jan 31 -> Feb 28 10:00 (day clamped)');
SELECT set_config('pe.utc_p1', p.period_id::text, true) FROM credits.get_or_create_active_period('pe_utc') p;
SELECT tests.travel('2026-02-28 09:59:59+00');
SELECT results_eq(
  $$select period_id, period_start, period_end from credits.get_or_create_active_period('pe_utc')$$,
  $$values (current_setting('pe.utc_p1')::bigint, '2026-01-31 10:00+00'::timestamptz, '2026-02-28 10:00+00'::timestamptz)$$,
  'one second before period_end the first period is still the active one (same period_id)');
SELECT tests.travel('2026-02-28 10:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_utc')$$,
  $$values ('2026-02-28 10:00+00'::timestamptz, '2026-03-31 10:00+00'::timestamptz)$$,
  'at period_end the second period opens: Feb 28 -> Mar 31 (the anchor day 31 is back)');
SELECT tests.travel('2026-03-31 10:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_utc')$$,
  $$values ('2026-03-31 10:00+00'::timestamptz, '2026-04-30 10:00+00'::timestamptz)$$,
  'third period: Mar 31 -> Apr 30 (clamped again)');
SELECT tests.travel('2026-04-30 10:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_utc')$$,
  $$values ('2026-04-30 10:00+00'::timestamptz, '2026-05-31 10:00+00'::timestamptz)$$,
  'fourth period: Apr 30 -> May 31');

-- Europe/Paris, opened Mar 1 00:30 CET (Feb 28 23:30 UTC): stays at local 00:30 in CEST
SELECT tests.travel('2026-02-28 23:30+00');
SELECT results_eq(
  $$select period_start, period_end from credits.open_account('pe_paris', timezone => 'Europe/Paris')$$,
  $$values ('2026-02-28 23:30+00'::timestamptz, '2026-03-31 22:30+00'::timestamptz)$$,
  'Paris account opened Mar 1 00:30 CET: its first period ends Apr 1 00:30 CEST, Mar 31 22:30 UTC (an hour earlier in UTC)');
SELECT tests.travel('2026-03-31 22:29:59+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_paris')$$,
  $$values ('2026-02-28 23:30+00'::timestamptz, '2026-03-31 22:30+00'::timestamptz)$$,
  'Paris: at 00:29:59 local on Apr 1 the first period still runs');
SELECT tests.travel('2026-03-31 22:30+00');
SELECT results_eq(
  $$select period_start at time zone 'Europe/Paris', period_end at time zone 'Europe/Paris'
    from credits.get_or_create_active_period('pe_paris')$$,
  $$values ('2026-04-01 00:30'::timestamp, '2026-05-01 00:30'::timestamp)$$,
  'Paris: at 00:30 local on Apr 1 the second period opens, Apr 1 00:30 -> May 1 00:30 local');
SELECT tests.travel('2026-10-31 23:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_paris')$$,
  $$values ('2026-09-30 22:30+00'::timestamptz, '2026-10-31 23:30+00'::timestamptz)$$,
  'Paris: across the October change back to CET the period still ends at local 00:30 (Nov 1 00:30 CET = 23:30 UTC)');

-- America/New_York, opened Jan 31 21:00 EST (Feb 1 02:00 UTC): the local day 31 is the anchor
SELECT tests.travel('2026-02-01 02:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.open_account('pe_ny', timezone => 'America/New_York')$$,
  $$values ('2026-02-01 02:00+00'::timestamptz, '2026-03-01 02:00+00'::timestamptz)$$,
  'New York account opened Jan 31 21:00 EST: first period ends Feb 28 21:00 EST (Mar 1 02:00 UTC)');
SELECT tests.travel('2026-03-01 02:00+00');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_ny')$$,
  $$values ('2026-03-01 02:00+00'::timestamptz, '2026-04-01 01:00+00'::timestamptz)$$,
  'New York: second period ends Mar 31 21:00 EDT (Apr 1 01:00 UTC): local day 31, DST-shifted in UTC');
SELECT tests.travel('2026-04-01 01:00+00');
SELECT results_eq(
  $$select period_start at time zone 'America/New_York', period_end at time zone 'America/New_York'
    from credits.get_or_create_active_period('pe_ny')$$,
  $$values ('2026-03-31 21:00'::timestamp, '2026-04-30 21:00'::timestamp)$$,
  'New York: third period Mar 31 21:00 -> Apr 30 21:00 local');

-- leap year: opened Jan 31 2028, renews Feb 29
SELECT tests.travel('2028-01-31 10:00+00');
SELECT results_eq(
  $$select period_end from credits.open_account('pe_leap')$$,
  $$values ('2028-02-29 10:00+00'::timestamptz)$$,
  'UTC account opened Jan 31 2028: first period ends Feb 29 (leap year)');

-- as service: get_or_create_active_period ------------------------------------------------
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('pe_pro', 'pro');
SELECT set_config('pe.pro_p1', p.period_id::text, true) FROM credits.get_or_create_active_period('pe_pro') p;
SELECT results_eq(
  $$select p.period_start, p.period_end from credits.get_or_create_active_period('pe_pro') p$$,
  $$select a.period_start, a.period_end from credits.accounts a where a.account_id = 'pe_pro'$$,
  'get_or_create_active_period returns the period open_account opened');
SELECT tests.travel('2026-03-25 08:00+00');
SELECT is((select period_id from credits.get_or_create_active_period('pe_pro')), current_setting('pe.pro_p1')::bigint,
          'while the period runs, get_or_create_active_period returns the same period_id');
SELECT tests.travel('2026-04-10 12:00+00');
SELECT set_config('pe.pro_p2', p.period_id::text, true) FROM credits.get_or_create_active_period('pe_pro') p;
SELECT isnt(current_setting('pe.pro_p2')::bigint, current_setting('pe.pro_p1')::bigint,
            'past period_end get_or_create_active_period opens a new period (new period_id)');
SELECT results_eq(
  $$select period_id, period_start, period_end from credits.get_or_create_active_period('pe_pro')$$,
  $$values (current_setting('pe.pro_p2')::bigint, '2026-04-10 12:00+00'::timestamptz, '2026-05-10 12:00+00'::timestamptz)$$,
  'calling it again returns the same new period, Apr 10 -> May 10');
SELECT results_eq(
  $$select period_start, period_end from credits.accounts where account_id = 'pe_pro'$$,
  $$values ('2026-04-10 12:00+00'::timestamptz, '2026-05-10 12:00+00'::timestamptz)$$,
  'credits.accounts shows the opened period');

-- idle account: opened Jan 5, next seen Jun 20
SELECT tests.travel('2026-01-05 09:00+00');
SELECT account_id FROM credits.open_account('pe_idle', 'pro');
SELECT tests.travel('2026-06-20 12:00+00');
SELECT results_eq(
  $$select available, period_start, period_end from credits.get_balance('pe_idle') where credit_type = 'credits'$$,
  $$values (100::numeric, '2026-06-05 09:00+00'::timestamptz, '2026-07-05 09:00+00'::timestamptz)$$,
  'before settling, get_balance of the idle account reports the period containing now, Jun 5 -> Jul 5');
SELECT results_eq(
  $$select period_start, period_end from credits.get_or_create_active_period('pe_idle')$$,
  $$values ('2026-06-05 09:00+00'::timestamptz, '2026-07-05 09:00+00'::timestamptz)$$,
  'an idle account seen months later opens the period containing now: Jun 5 -> Jul 5');
SELECT results_eq(
  $$select available, granted_this_period, buckets from credits.get_balance('pe_idle') where credit_type = 'credits'$$,
  $$values (100::numeric, 100::numeric, '{"monthly": 100}'::jsonb)$$,
  'the idle account has one monthly allowance, not one per skipped month');
SELECT results_eq(
  $$select kind, amount from credits.ledger where account_id = 'pe_idle' order by transaction_id$$,
  $$values ('grant'::text, 100::numeric), ('expiry', -100), ('grant', 100)$$,
  'idle account ledger: January''s allowance, its expiry, June''s allowance; nothing for the months between');

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

-- as service: the signup grant is issued once (starter: 10 at signup, 20 a month) ----------
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('pe_starter', 'starter');
SELECT tests.travel('2026-05-15 12:00+00');
SELECT results_eq(
  $$select available, granted_this_period, period_start, buckets
    from credits.get_balance('pe_starter') where credit_type = 'credits'$$,
  $$values (30::numeric, 20::numeric, '2026-05-10 12:00+00'::timestamptz, '{"signup": 10, "monthly": 20}'::jsonb)$$,
  'starter two periods later, unsettled: signup credits stay, the pending allowance is 20');
SELECT results_eq(
  $$select ok, available from credits.deduct_credits('pe_starter', 'roast')$$,
  $$values (true, 29::numeric)$$,
  'starter: the deduct that opens the period draws from the new monthly grant');
SELECT results_eq(
  $$select kind, amount, metadata ->> 'source' from credits.ledger
    where account_id = 'pe_starter' and kind = 'grant' order by transaction_id$$,
  $$values ('grant'::text, 10::numeric, 'signup'::text), ('grant', 20, 'monthly'), ('grant', 20, 'monthly')$$,
  'starter: one signup grant at open, a monthly grant per opened period, no signup grant on rollover');

-- alice: a pro account whose period rolled over
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('alice', 'pro');
SELECT account_id FROM credits.open_account('bob', 'pro');
SELECT tests.travel('2026-04-11 09:00+00');
SELECT throws_ok($$select * from credits.get_or_create_active_period('ghost')$$, 'PT404', 'unknown account ghost',
                 'get_or_create_active_period refuses an unknown account (PT404)');
SELECT throws_ok($$select * from credits.get_or_create_active_period('')$$, 'PT422', 'account_id is required',
                 'get_or_create_active_period refuses an empty account id (PT422)');

-- as user alice ---------------------------------------------------------------------
SELECT tests.act_as('credits_user', 'alice');
SELECT results_eq(
  $$select available, granted_this_period, used_this_period, period_start, period_end
    from credits.get_balance('alice') where credit_type = 'credits'$$,
  $$values (100::numeric, 100::numeric, 0::numeric, '2026-04-10 12:00+00'::timestamptz, '2026-05-10 12:00+00'::timestamptz)$$,
  'alice''s get_balance shows her rolled period with its allowance');
SELECT throws_ok($$select * from credits.get_or_create_active_period('alice')$$, '42501', 'permission denied for function get_or_create_active_period',
                 'alice may not call get_or_create_active_period, even for her own account (service and admin only)');
SELECT throws_ok($$select * from credits.get_or_create_active_period('bob')$$, '42501', 'permission denied for function get_or_create_active_period',
                 'alice may not call get_or_create_active_period for bob');
SELECT throws_ok($$select * from credits.get_balance('bob')$$, '42501', 'caller may not act on account bob',
                 'alice may not read bob''s rolled balance');

-- as auditor --------------------------------------------------------------------------
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.get_or_create_active_period('alice')$$, '42501', 'permission denied for function get_or_create_active_period',
                 'a credits_auditor may not call get_or_create_active_period');
SELECT is((select period_start from credits.get_balance('alice') where credit_type = 'credits'),
          '2026-04-10 12:00+00'::timestamptz, 'the auditor reads alice''s rolled period');

-- as service --------------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT results_eq(
  $$select period_start from credits.accounts where account_id = 'alice'$$,
  $$values ('2026-03-10 12:00+00'::timestamptz)$$,
  'the refused calls and the reads did not open alice''s period');

-- as superuser ------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT results_eq(
  $$select period_start, period_end, plan from credits_private.periods where account_id = 'pe_pro' order by period_start$$,
  $$values ('2026-03-10 12:00+00'::timestamptz, '2026-04-10 12:00+00'::timestamptz, 'pro'::text),
           ('2026-04-10 12:00+00', '2026-05-10 12:00+00', 'pro')$$,
  'pe_pro has exactly two period rows: repeated calls opened the second once');
SELECT results_eq(
  $$select period_id::text from credits_private.periods where account_id = 'pe_pro' order by period_start$$,
  $$values (current_setting('pe.pro_p1')), (current_setting('pe.pro_p2'))$$,
  'the period_ids returned are those of the stored periods');
SELECT results_eq(
  $$select period_start from credits_private.periods where account_id = 'pe_idle' order by period_start$$,
  $$values ('2026-01-05 09:00+00'::timestamptz), ('2026-06-05 09:00+00')$$,
  'the idle account has no periods for the skipped months');
SELECT results_eq(
  $$select source, amount, remaining, expires_at, period_start from credits_private.grants
    where account_id = 'pe_pro' order by grant_id$$,
  $$values ('monthly'::text, 100::numeric, 0::numeric, '2026-04-10 12:00+00'::timestamptz, '2026-03-10 12:00+00'::timestamptz),
           ('monthly', 100, 100, '2026-05-10 12:00+00', '2026-04-10 12:00+00')$$,
  'get_or_create_active_period issued the new period''s allowance once, ending with the period; the old one expired');
SELECT results_eq(
  $$select grant_id, source, amount, remaining, expires_at from credits_private.grants
    where account_id = 'pe_lazy' order by grant_id$$,
  $$values (current_setting('pe.lazy_g1')::bigint, 'monthly'::text, 100::numeric, 0::numeric, '2026-04-10 12:00+00'::timestamptz),
           (current_setting('pe.lazy_g2')::bigint, 'monthly', 100, 99, '2026-05-10 12:00+00')$$,
  'lazy rollover: the old monthly grant is emptied, the new one expires at the new period_end');
SELECT results_eq(
  $$select count(*)::int, count(*) filter (where source = 'signup')::int from credits_private.grants
    where account_id = 'pe_chap'$$,
  $$values (1, 1)$$,
  'free plan rollover: the signup grant is still the only grant');
SELECT is((select count(*)::int from credits_private.periods where account_id = 'pe_chap'), 2,
          'free plan rollover opened a period row without a grant');

-- as service: a suspended account moves to the new period but gets no allowance
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-06-01 08:00+00');
SELECT account_id FROM credits.open_account('pe_susp', 'pro');
SELECT status FROM credits.set_account_status('pe_susp', 'suspended', 'chargeback');
SELECT tests.travel('2026-07-02 08:00+00');
SELECT results_eq(
  $$select available, granted_this_period, period_start from credits.get_balance('pe_susp')
    where credit_type = 'credits'$$,
  $$values (0::numeric, 0::numeric, '2026-07-01 08:00+00'::timestamptz)$$,
  'suspended account: the new period is reported with no pending allowance');
SELECT results_eq(
  $$select period_start from credits.get_or_create_active_period('pe_susp')$$,
  $$values ('2026-07-01 08:00+00'::timestamptz)$$,
  'suspended account: get_or_create_active_period opens the current period');
SELECT tests.act_as_superuser();
SELECT is((select count(*)::int from credits_private.grants where account_id = 'pe_susp' and source = 'monthly'), 1,
          'suspended account: no monthly grant for the new period (only the first one)');
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
