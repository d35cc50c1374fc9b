-- expire_grants() (SPEC §2 Maintenance): it settles the accounts nobody
-- touched, one `expiry` row per ended grant of every credit type, and says
-- how many grants ended; get_balance left them out before it ran; a second
-- run expires nothing and writes nothing.

BEGIN;
SELECT plan(7);
SELECT tests.catalog();
SELECT tests.travel('2026-03-10 12:00+00');

-- as service: accounts (6 signup credits each), grants and debits on 2026-03-10
SELECT tests.act_as('credits_service');
SELECT tests.open(a) FROM unnest(array['ex_a', 'ex_b']) a;
SELECT grant_id::text FROM credits.grant_credits('ex_a', 2, 'promo', expires_at => '2026-03-25 00:00+00');
SELECT grant_id::text FROM credits.grant_credits('ex_b', 3, 'promo', expires_at => '2026-03-25 00:00+00');
SELECT grant_id::text FROM credits.grant_credits('ex_b', 5, 'promo', 'analysis', expires_at => '2026-03-26 00:00+00');

-- as service, 2026-03-26: expire_grants settles untouched accounts ------------------------------
-- ex_a: a promo of 2 ended 03-25; ex_b: a promo of 3 ended 03-25, 5 analysis credits ended 03-26 00:00
SELECT tests.travel('2026-03-26 12:00+00');
SELECT results_eq($$select credit_type, available from credits.get_balance('ex_b') order by credit_type$$,
                  $$values ('analysis'::text, 0::numeric), ('credits', 6)$$,
                  'expire_grants: before it runs, get_balance already leaves the ended grants out');
SELECT is((select grants_expired from credits.expire_grants()), 3,
          'expire_grants returns the number of grants expired (ex_a''s promo, ex_b''s promo and analysis grant)');
SELECT results_eq($$select account_id, credit_type, amount, balance_before, balance_after from credits.ledger
                    where kind = 'expiry' and account_id in ('ex_a', 'ex_b') order by account_id, credit_type$$,
                  $$values ('ex_a'::text, 'credits'::text, -2::numeric, 8::numeric, 6::numeric),
                           ('ex_b', 'analysis', -5, 5, 0),
                           ('ex_b', 'credits', -3, 9, 6)$$,
                  'expire_grants writes one expiry row per ended grant of the untouched accounts');
SELECT is((select grants_expired from credits.expire_grants()), 0,
          'expire_grants: a second run expires nothing');
SELECT is((select count(*) from credits.ledger where kind = 'expiry' and account_id in ('ex_a', 'ex_b')), 3::bigint,
          'expire_grants: a second run writes no expiry row');

-- as superuser ------------------------------------------------------------------------------
SELECT tests.act_as_superuser();
SELECT tests.ledger_is_chained();
SELECT is_empty($$select * from credits.reconciliation$$, 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
