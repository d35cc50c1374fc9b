-- credits_private._actor(): who is acting, for the ledger: the JWT subject
-- when the caller has one, else the database role. Bound at creation (a
-- RETURN body), like the identity helpers of migration 0006.

create or replace function credits_private._actor()
returns text
language sql
stable
return coalesce(credits_private._caller_sub(), nullif(pg_catalog.current_setting('role'), 'none'),
                session_user::pg_catalog.text);
