-- update_account(account_id, plan, is_demo) (issue 17; SPEC §2): an upgrade
-- at once, with the rule of subscription events (this period's allowance
-- becomes the new plan's less what was used: an adjustment row, plan_changed
-- cause upgrade); a lower plan at the end of the period (scheduled, then
-- applied by the period's settling: plan_changed cause scheduled); the
-- current plan again cancels what was scheduled; is_demo at once; a
-- subscriber's plan is refused (its provider's events own it), its demo flag
-- is not; bad calls are refused naming the value and change nothing. Service
-- and admin only (users and the auditor get 42501).

BEGIN;
SELECT plan(23);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');
SELECT tests.app_plans(s0_free_default => true);

SELECT tests.act_as('credits_service');
SELECT account_id FROM credits.open_account('dot', 's0_free');
SELECT plan FROM credits.apply_subscription_event('e_d1', 'dot', 's1_pro', 'active',
                                                 '2026-03-10 12:00+00', '2026-04-10 12:00+00');

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
SELECT throws_ok($$select * from credits.update_account('dot', is_demo => false)$$, '42501',
                 'permission denied for function update_account', 'a user may not update its own account');
SELECT tests.act_as('credits_auditor');
SELECT throws_ok($$select * from credits.update_account('dot', is_demo => false)$$, '42501',
                 'permission denied for function update_account', 'the auditor may not update an account');

SELECT * FROM finish();
ROLLBACK;
