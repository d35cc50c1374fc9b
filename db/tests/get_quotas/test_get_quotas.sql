-- What a UI reads in one call (issue 17 item 7; SPEC §2 get_quotas, views):
-- get_quotas(account_id), one row per feature of the account's plan, and
-- the views credits.subscriptions (plan, status, scheduled plan, period)
-- and credits.account_usage_daily (usage per account, day and feature).
--
-- get_quotas: the plan's enabled features in code order, each with what
-- check_feature says of a call without units (cost, allowed, reason: the
-- same rule), the period limit, used and remaining (null without a limit)
-- and next_reset_at (the period's end for a limited feature, else the next
-- renewal of its credit type: the next local midnight with a daily
-- allowance). As settled past the period's end; demo and unlimited cost 0.
-- Changes nothing. Roles: service, auditor, a user for its own account
-- (another's is 42501, before anything is looked up); PT404, PT422.
-- Views: a user sees only its own rows; service and auditor every row.

BEGIN;
SELECT plan(22);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT code FROM credits.upsert_plan('drip', daily_allowance => '{"credits": 5}');
SELECT feature FROM credits.set_plan_feature('drip', 'roast');
SELECT feature FROM credits.set_plan_feature('drip', 'chapter', period_limit => 2);
SELECT feature FROM credits.set_plan_feature('drip', 'chat', enabled => false);

-- as service: quinn on free (6 credits at signup, chapter 3 a period) ---------------------------------
SELECT tests.act_as('credits_service');
SELECT account_id FROM credits.open_account('quinn');
SELECT account_id FROM credits.open_account('rob');
SELECT account_id FROM credits.open_account('dina', 'drip', timezone => 'Europe/Paris');
SELECT account_id FROM credits.open_account('demi', is_demo => true);
SELECT account_id FROM credits.open_account('tess', 'team');
SELECT (credits.deduct_credits('quinn', 'chapter')).ok FROM generate_series(1, 2);

SELECT results_eq(
  $$select feature, credit_type, cost, allowed, reason, period_limit, period_used, period_remaining, next_reset_at
    from credits.get_quotas('quinn')$$,
  $$values ('analysis_run'::text, 'analysis'::text, 2::numeric, false, 'insufficient_credits'::text, null::int,
            null::int, null::int, '2026-04-10 12:00+00'::timestamptz),
           ('chapter', 'credits', 1, true, null, 3, 2, 1, '2026-04-10 12:00+00'),
           ('chat', 'credits', 0, true, null, null, null, null, '2026-04-10 12:00+00'),
           ('roast', 'credits', 1, true, null, null, null, null, '2026-04-10 12:00+00'),
           ('video', 'credits', 0, true, null, null, null, null, '2026-04-10 12:00+00')$$,
  'get_quotas: every feature of plan free (not premium), "1 of 3 chapters left", each next reset');
SELECT results_eq(
  $$select q.cost, q.allowed, q.reason, q.period_remaining from credits.get_quotas('quinn') q order by q.feature$$,
  $$select c.cost, c.allowed, c.reason, c.period_remaining
    from unnest(array['analysis_run', 'chapter', 'chat', 'roast', 'video']) f,
         credits.check_feature('quinn', f) c order by f$$,
  'get_quotas says what check_feature says of each feature (one rule)');
SELECT ok FROM credits.deduct_credits('quinn', 'chapter');
SELECT results_eq($$select allowed, reason, period_used, period_remaining from credits.get_quotas('quinn')
                    where feature = 'chapter'$$,
                  $$values (false, 'period_limit_reached'::text, 3, 0)$$, 'the third chapter: limit reached');
SELECT results_eq($$select feature, next_reset_at from credits.get_quotas('dina')$$,
                  $$values ('chapter'::text, '2026-04-10 11:00+00'::timestamptz),
                           ('roast', '2026-03-10 23:00+00')$$,
                  'a daily allowance: roast renews at the next local midnight (Paris), the limited chapter at the period''s end; chat is disabled in drip, so not listed');
SELECT results_eq($$select bool_and(cost = 0 and allowed) from credits.get_quotas('demi')$$, $$values (true)$$,
                  'a demo account: every feature costs 0 and is allowed');
SELECT results_eq($$select count(*)::int, bool_and(cost = 0 and allowed) from credits.get_quotas('tess')$$,
                  $$values (6, true)$$, 'plan team (unlimited): six features, each costing 0');

-- past the period's end: as settled
SELECT tests.travel('2026-04-11 12:00+00');
SELECT results_eq($$select period_used, period_remaining, next_reset_at from credits.get_quotas('quinn')
                    where feature = 'chapter'$$,
                  $$values (0, 3, '2026-05-10 12:00+00'::timestamptz)$$,
                  'past the period''s end: the next period''s counts and end, before any call settles it');
SELECT results_eq($$select period_start from credits.accounts where account_id = 'quinn'$$,
                  $$values ('2026-03-10 12:00+00'::timestamptz)$$, 'get_quotas changed nothing');
SELECT tests.travel('2026-03-10 12:00+00');

SELECT throws_ok($$select * from credits.get_quotas('ghost')$$, 'PT404', 'unknown account ghost',
                 'get_quotas: unknown account PT404');
SELECT throws_ok($$select * from credits.get_quotas('')$$, 'PT422',
                 'account_id is required', 'get_quotas: empty account id PT422');
SELECT is((select count(*)::int from credits.subscriptions), 5, 'the service sees every account''s subscription row');
SELECT is((select count(distinct account_id)::int from credits.account_usage_daily), 1,
          'the service sees every account''s usage (only quinn spent)');

-- as user quinn: her own rows only ------------------------------------------------------------
SELECT tests.act_as('credits_user', 'quinn');
SELECT is((select count(*)::int from credits.get_quotas('quinn')), 5, 'a user reads her own quotas');
SELECT throws_ok($$select * from credits.get_quotas('rob')$$, '42501', 'caller may not act on account rob',
                 'a user may not read another''s quotas');
SELECT throws_ok($$select * from credits.get_quotas('ghost')$$, '42501', 'caller may not act on account ghost',
                 'nor learn whether an account exists');
SELECT results_eq($$select account_id, plan, status, scheduled_plan, period_end from credits.subscriptions$$,
                  $$values ('quinn'::text, 'free'::text, null::text, null::text, '2026-04-10 12:00+00'::timestamptz)$$,
                  'credits.subscriptions: a user sees her own row, nothing else');
SELECT results_eq($$select account_id, day, feature, credit_type, calls, credits from credits.account_usage_daily$$,
                  $$values ('quinn'::text, '2026-03-10'::date, 'chapter'::text, 'credits'::text, 3::bigint,
                            3::numeric)$$,
                  'credits.account_usage_daily: her own usage per day and feature');
SELECT results_eq($$select day, feature, calls, credits from credits.usage_daily$$,
                  $$values ('2026-03-10'::date, 'chapter'::text, 3::bigint, 3::numeric)$$,
                  'usage_daily is the sum of what she may see');

-- as user rob: nothing of quinn's
SELECT tests.act_as('credits_user', 'rob');
SELECT is_empty($$select * from credits.account_usage_daily$$, 'rob sees none of quinn''s usage');
SELECT results_eq($$select account_id from credits.subscriptions$$, $$values ('rob'::text)$$,
                  'rob sees only his own subscription row');

-- as auditor: reads everything, changes nothing
SELECT tests.act_as('credits_auditor');
SELECT is((select count(*)::int from credits.get_quotas('rob')), 5, 'the auditor reads any account''s quotas');
SELECT is((select count(*)::int from credits.subscriptions), 5, 'the auditor sees every subscription row');

SELECT * FROM finish();
ROLLBACK;
