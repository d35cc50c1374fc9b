-- open_account on an existing account (SPEC §2 Accounts and balances; issue
-- 17): it returns the account unchanged, grants nothing again, and says so:
-- opened false, `differences` names the arguments it asked for that the
-- account lacks (a NOTICE too); arguments left at their defaults are not
-- differences, so an open_account at every login stays quiet.

BEGIN;
SELECT plan(6);
SELECT tests.catalog();
SELECT tests.app_plans(s0_free_default => true);

-- as service ---------------------------------------------------------------------
SELECT tests.act_as('credits_service');
SELECT tests.travel('2026-01-31 10:00+00');
SELECT account_id FROM credits.open_account('alice');

-- Opening again, an hour later and with other arguments, changes nothing.
SELECT tests.travel('2026-01-31 11:00+00');
SELECT results_eq(
  $$select account_id, plan, status, is_demo, timezone, billing_anchor, period_start, period_end, metadata
    from credits.open_account('alice', 'pro', true, 'Europe/Paris', '{"x": 1}')$$,
  $$values ('alice'::text, 'free'::text, 'active'::text, false, 'UTC'::text, '2026-01-31 10:00+00'::timestamptz,
            '2026-01-31 10:00+00'::timestamptz, '2026-02-28 10:00+00'::timestamptz, '{}'::jsonb)$$,
  'opening an existing account with other arguments returns it unchanged');
SELECT is((select count(*)::int from credits.ledger where account_id = 'alice'), 1,
          'opening an existing account grants nothing again');

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
