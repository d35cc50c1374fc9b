-- Plans an account moves between (issue 17 items 2 and 6; SPEC §2
-- upsert_plan, open_account, apply_subscription_event).
--
-- The default plan (plans.is_default): at most one; upsert_plan(is_default
-- => true) moves the flag, the default plan cannot drop it (PT422), a new
-- plan is not the default unless told. A canceled subscription falls back to
-- the app's default plan (s0_free), not to a plan named free, and a canceled
-- event is refused (PT404) when no plan is the default, never at the user's
-- next call.
-- update_account(account_id, plan, is_demo): an upgrade at once, with the
-- rule of subscription events (this period's allowance becomes the new
-- plan's less what was used: an adjustment row, plan_changed cause
-- upgrade); a lower plan at the end of the period (scheduled, then applied
-- by the period's settling: plan_changed cause scheduled); the current plan
-- again cancels what was scheduled; is_demo at once; a subscriber's plan is
-- refused; bad calls refused, changing nothing. Roles: service and admin.
-- open_account on an existing account: opened false, `differences` names
-- the arguments it asked for that the account lacks, a NOTICE says so.

BEGIN;
SELECT plan(44);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- The app's own catalog beside the test catalog: s0_free (3 credits at
-- signup), s1_pro (100 a month).
SELECT code FROM credits.upsert_plan('s0_free', signup_grant => '{"credits": 3}');
SELECT code FROM credits.upsert_plan('s1_pro', monthly_allowance => '{"credits": 100}');
SELECT (credits.set_plan_feature(p, 'roast')).feature FROM unnest(array['s0_free', 's1_pro']) p;

-- as admin: the default plan --------------------------------------------------------------------
SELECT tests.act_as('credits_admin');
SELECT results_eq($$select code from credits.plans where is_default$$, $$values ('free'::text)$$,
                  'tests.catalog made free the default plan');
SELECT results_eq($$select code, is_default from credits.plans where code in ('s0_free', 's1_pro') order by code$$,
                  $$values ('s0_free'::text, false), ('s1_pro', false)$$,
                  'a new plan is not the default unless told');
SELECT results_eq($$select code, is_default from credits.upsert_plan('s0_free', signup_grant => '{"credits": 3}',
                                                                     is_default => true)$$,
                  $$values ('s0_free'::text, true)$$, 'upsert_plan(is_default => true) makes s0_free the default');
SELECT results_eq($$select code from credits.plans where is_default$$, $$values ('s0_free'::text)$$,
                  'the flag moved: free is no longer the default, there is one');
SELECT results_eq($$select is_default from credits.upsert_plan('s0_free', signup_grant => '{"credits": 3}',
                                                               description => 'Free tier')$$,
                  $$values (true)$$, 'an update without is_default leaves the flag as it is');
SELECT throws_ok($$select credits.upsert_plan('s0_free', signup_grant => '{"credits": 3}', is_default => false)$$,
                 'PT422', 'plan s0_free is the default plan: it cannot stop being the default',
                 'the default plan cannot drop the flag: PT422 naming it');
SELECT results_eq($$select code from credits.plans where is_default$$, $$values ('s0_free'::text)$$,
                  'the refusal changed nothing');
SELECT results_eq($$select is_default from credits.upsert_plan('s1_pro', monthly_allowance => '{"credits": 100}',
                                                               is_default => false)$$,
                  $$values (false)$$, 'is_default => false on another plan is no change');
SELECT tests.act_as_superuser();
SELECT throws_ok($$update credits_private.plans set is_default = true where code = 'pro'$$, '23505', 'duplicate key value violates unique constraint "plans_one_default"',
                 'two default plans are impossible (a unique index)');
SELECT tests.act_as('credits_service');

-- as service: a canceled subscription falls back to the default plan ---------------------------------
SELECT account_id FROM credits.open_account('cat', 's0_free');
SELECT plan FROM credits.apply_subscription_event('e_c1', 'cat', 's1_pro', 'active',
                                                 '2026-03-10 12:00+00', '2026-04-10 12:00+00');
SELECT results_eq($$select plan, status, scheduled_plan from credits.subscriptions where account_id = 'cat'$$,
                  $$values ('s1_pro'::text, 'active'::text, null::text)$$, 'subscribed to s1_pro');
SELECT plan FROM credits.apply_subscription_event('e_c2', 'cat', 's1_pro', 'canceled',
                                                 '2026-03-10 12:00+00', '2026-04-10 12:00+00');
SELECT results_eq($$select plan, status, scheduled_plan, period_end from credits.subscriptions
                    where account_id = 'cat'$$,
                  $$values ('s1_pro'::text, 'canceled'::text, 's0_free'::text, '2026-04-10 12:00+00'::timestamptz)$$,
                  'canceled: s1_pro until the period ends, then the default plan (the subscriptions view says so)');
SELECT tests.travel('2026-04-11 12:00+00');
SELECT results_eq($$select distinct plan from credits.get_balance('cat')$$, $$values ('s0_free'::text)$$,
                  'past the period''s end, reads report the default plan s0_free');
SELECT results_eq($$select ok, reason from credits.deduct_credits('cat', 'roast')$$,
                  $$values (true, null::text)$$,
                  'the next call is on s0_free and may roast (not feature_not_in_plan on a plan named free)');
SELECT results_eq($$select plan, status, scheduled_plan, ended_at from credits.subscriptions where account_id = 'cat'$$,
                  $$values ('s0_free'::text, null::text, null::text, '2026-04-10 12:00+00'::timestamptz)$$,
                  'the subscription ended at its period''s end; nothing is scheduled');
SELECT results_eq($$select payload ->> 'to', payload ->> 'cause' from credits.events
                    where account_id = 'cat' and kind = 'plan_changed' order by event_id desc limit 1$$,
                  $$values ('s0_free'::text, 'cancellation'::text)$$, 'plan_changed to s0_free (cancellation)');

-- no default plan: the canceled event is refused, changing nothing
SELECT tests.travel('2026-03-10 12:00+00');
SELECT account_id FROM credits.open_account('dot', 's0_free');
SELECT plan FROM credits.apply_subscription_event('e_d1', 'dot', 's1_pro', 'active',
                                                 '2026-03-10 12:00+00', '2026-04-10 12:00+00');
SELECT tests.act_as_superuser();
UPDATE credits_private.plans SET is_default = false WHERE is_default;
SELECT tests.act_as('credits_service');
SELECT throws_ok($$select * from credits.apply_subscription_event('e_d2', 'dot', 's1_pro', 'canceled',
                                                                 '2026-03-10 12:00+00', '2026-04-10 12:00+00')$$,
                 'PT404', 'no default plan for canceled subscription event e_d2 to leave account dot on',
                 'a cancellation with no default plan: PT404 at the event, naming it');
SELECT results_eq($$select status from credits.subscriptions where account_id = 'dot'$$,
                  $$values ('active'::text)$$, 'the refused event changed nothing');
SELECT tests.act_as_superuser();
UPDATE credits_private.plans SET is_default = true WHERE code = 's0_free';
SELECT tests.act_as('credits_service');

-- as service: update_account --------------------------------------------------------------------
SELECT account_id FROM credits.open_account('eve', 's1_pro');
SELECT ok FROM credits.deduct_credits('eve', 'roast', amount => 30);
SELECT results_eq($$select plan, is_demo from credits.update_account('eve', plan => 'pro')$$,
                  $$values ('pro'::text, false)$$, 'update_account: s1_pro -> pro (100 -> 100) is an upgrade: at once');
SELECT results_eq($$select plan, scheduled_plan from credits.subscriptions where account_id = 'eve'$$,
                  $$values ('pro'::text, null::text)$$, 'nothing scheduled');
SELECT tests.act_as('credits_admin');
SELECT code FROM credits.upsert_plan('s2_max', monthly_allowance => '{"credits": 500, "analysis": 5}');
SELECT tests.act_as('credits_service');
SELECT results_eq($$select plan from credits.update_account('eve', plan => 's2_max')$$, $$values ('s2_max'::text)$$,
                  'pro -> s2_max (500 a month) at once');
SELECT results_eq($$select credit_type, available, granted_this_period, used_this_period
                    from credits.get_balance('eve') order by credit_type$$,
                  $$values ('analysis'::text, 5::numeric, 5::numeric, 0::numeric), ('credits', 470, 500, 30)$$,
                  'the upgrade''s rule: 500 less the 30 used; the credit type pro lacked issued in full');
SELECT results_eq($$select kind, amount, metadata ->> 'allowance_before', metadata ->> 'allowance_after'
                    from credits.ledger where account_id = 'eve' and kind = 'adjustment'$$,
                  $$values ('adjustment'::text, 400::numeric, '100.000000'::text, '500'::text)$$,
                  'one adjustment row grows the period''s allowance grant, as for a subscription upgrade');
SELECT results_eq($$select payload ->> 'from', payload ->> 'to', payload ->> 'cause' from credits.events
                    where account_id = 'eve' and kind = 'plan_changed' order by event_id$$,
                  $$values ('s1_pro'::text, 'pro'::text, 'upgrade'::text), ('pro', 's2_max', 'upgrade')$$,
                  'plan_changed for each upgrade');
SELECT results_eq($$select plan from credits.update_account('eve', plan => 's0_free')$$,
                  $$values ('s2_max'::text)$$, 'a lower plan waits for the end of the period: the account stays on s2_max');
SELECT results_eq($$select plan, scheduled_plan, period_end from credits.subscriptions where account_id = 'eve'$$,
                  $$values ('s2_max'::text, 's0_free'::text, '2026-04-10 12:00+00'::timestamptz)$$,
                  'the subscriptions view shows s0_free scheduled for the period''s end');
SELECT results_eq($$select available from credits.get_balance('eve') where credit_type = 'credits'$$,
                  $$values (470::numeric)$$, 'until then its allowance stays');
SELECT plan FROM credits.update_account('eve', plan => 's2_max');
SELECT results_eq($$select plan, scheduled_plan from credits.subscriptions where account_id = 'eve'$$,
                  $$values ('s2_max'::text, null::text)$$, 'the current plan again cancels what was scheduled');
SELECT plan FROM credits.update_account('eve', plan => 's0_free');
SELECT tests.travel('2026-04-10 12:30+00');
SELECT results_eq($$select distinct plan from credits.get_balance('eve')$$, $$values ('s0_free'::text)$$,
                  'past the period''s end, reads report the scheduled plan');
SELECT results_eq($$select plan from credits.update_account('eve', is_demo => true)$$, $$values ('s0_free'::text)$$,
                  'the next mutating call settles the period on the scheduled plan');
SELECT results_eq($$select payload ->> 'from', payload ->> 'to', payload ->> 'cause' from credits.events
                    where account_id = 'eve' and kind = 'plan_changed' order by event_id desc limit 1$$,
                  $$values ('s2_max'::text, 's0_free'::text, 'scheduled'::text)$$,
                  'plan_changed s2_max -> s0_free (scheduled)');
SELECT results_eq($$select is_demo from credits.accounts where account_id = 'eve'$$, $$values (true)$$,
                  'is_demo changes at once');
SELECT results_eq($$select ok, charged from credits.deduct_credits('eve', 'roast')$$,
                  $$values (true, 0::numeric)$$, 'a demo account is charged nothing');

-- refusals change nothing
SELECT tests.travel('2026-03-10 12:00+00');
SELECT throws_ok($$select * from credits.update_account('cat_sub', plan => 'pro')$$, 'PT404', 'unknown account cat_sub',
                 'update_account: unknown account PT404');
SELECT throws_ok($$select * from credits.update_account('dot', plan => 'gold')$$, 'PT404', 'unknown plan gold',
                 'update_account: unknown plan PT404 naming it');
SELECT throws_ok($$select * from credits.update_account('dot')$$, 'PT422',
                 'nothing to change for account dot: pass plan or is_demo', 'update_account: nothing to change PT422');
SELECT throws_ok($$select * from credits.update_account('dot', plan => 'team')$$, 'PT422',
                 'account dot is subscribed (event e_d1): its plan follows its payment provider''s events',
                 'a subscriber''s plan is the provider''s: PT422');
SELECT results_eq($$select plan, is_demo from credits.accounts where account_id = 'dot'$$,
                  $$values ('s1_pro'::text, false)$$, 'the refusals changed nothing');
SELECT results_eq($$select is_demo from credits.update_account('dot', is_demo => true)$$, $$values (true)$$,
                  'a subscriber''s demo flag may change');

-- as user and auditor: not allowed
SELECT tests.act_as('credits_user', 'dot');
SELECT throws_ok($$select * from credits.update_account('dot', is_demo => false)$$, '42501', 'permission denied for function update_account',
                 'a user may not update its own account');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.update_account('dot', is_demo => false)$$, '42501', 'permission denied for function update_account',
                 'the auditor may not update an account');

-- as service: open_account on an existing account -------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT results_eq($$select opened, differences from credits.open_account('fay', 's1_pro')$$,
                  $$values (true, '{}'::text[])$$, 'a new account: opened, no differences');
SELECT results_eq($$select opened, differences, plan, is_demo
                    from credits.open_account('fay', 's0_free', is_demo => true, timezone => 'Europe/Paris')$$,
                  $$values (false, '{plan,is_demo,timezone}'::text[], 's1_pro'::text, false)$$,
                  'an existing account with other arguments: not opened, the differences named, nothing changed');
SELECT results_eq($$select opened, differences from credits.open_account('fay')$$,
                  $$values (false, '{}'::text[])$$,
                  'arguments left at their defaults are not differences (an open_account at every login stays quiet)');
SELECT is((select count(*)::int from credits.ledger where account_id = 'fay'), 1,
          'opening it again wrote nothing (one ledger row: the first period''s allowance)');

SELECT * FROM finish();
ROLLBACK;
