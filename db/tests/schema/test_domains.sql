-- The lists of allowed values (migration 0010): each is one domain, the hot
-- tables' CHECKs cast to them, and a value outside a list is refused at the
-- table (SQLSTATE 23514) as before; the functions name the allowed values
-- from the same domain (_domain_values).

BEGIN;
SELECT plan(8);
SELECT '' FROM tests.catalog();
SELECT account_id FROM credits.open_account('dom_alice');

SELECT throws_ok($$INSERT INTO credits_private.ledger_entries (account_id, credit_type, kind, amount, balance_before,
                   balance_after, available_after, actor, created_at)
                   VALUES ('dom_alice', 'credits', 'bogus', 0, 0, 0, 0, 'test', now())$$, '23514',
                 'value for domain credits_private.ledger_kind violates check constraint "ledger_kind_check"',
                 'a ledger row of another kind is refused');
SELECT throws_ok($$INSERT INTO credits_private.ledger_entries (account_id, credit_type, kind, amount, balance_before,
                   balance_after, available_after, actor, created_at)
                   VALUES ('dom_alice', 'credits', 'grant', 1, 0, 2, 0, 'test', now())$$, '23514',
                 'new row for relation "ledger_entries" violates check constraint "ledger_entries_are_consistent"',
                 'a ledger row whose balances do not chain is refused');
SELECT throws_ok($$INSERT INTO credits_private.ledger_entries (account_id, credit_type, kind, amount, balance_before,
                   balance_after, available_after, actor, idempotency_key, created_at)
                   VALUES ('dom_alice', 'credits', 'grant', 0, 0, 0, 0, 'test', '', now())$$, '23514',
                 'value for domain credits_private.caller_key violates check constraint "caller_key_check"',
                 'an empty idempotency key is refused');
SELECT throws_ok($$UPDATE credits_private.grants SET source = 'bogus' WHERE account_id = 'dom_alice'$$, '23514',
                 'value for domain credits_private.grant_source violates check constraint "grant_source_check"',
                 'a grant of another source is refused');
SELECT throws_ok($$UPDATE credits_private.accounts SET status = 'frozen' WHERE account_id = 'dom_alice'$$, '23514',
                 'value for domain credits_private.account_status violates check constraint "account_status_check"',
                 'an account status outside the list is refused');
SELECT is(credits_private._domain_values('credits_private.grant_source'),
          '{signup,daily,monthly,purchase,promo,admin,refund,migration,rollover}', 'the grant sources, from their domain');
SELECT ok(credits_private._is_domain_value('active', 'credits_private.account_status')
          AND NOT credits_private._is_domain_value('frozen', 'credits_private.account_status')
          AND NOT coalesce(credits_private._is_domain_value(NULL, 'credits_private.account_status'), true),
          'a status is in the list or not; null is not');
SELECT tests.act_as('credits_admin');
SELECT throws_ok($$SELECT * FROM credits.grant_credits('dom_alice', 1, 'bonus')$$, 'PT422',
                 'invalid grant source bonus', 'grant_credits refuses a source outside the domain with PT422');

SELECT tests.act_as_superuser();
SELECT * FROM finish();
ROLLBACK;
