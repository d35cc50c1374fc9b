-- credits_private._actor(): who is acting, for the ledger: the JWT subject
-- when the caller has one, else the database role.

create or replace function credits_private._actor()
returns text
language sql
stable
as $$
  select coalesce(credits_private._caller_sub(), nullif(current_setting('role'), 'none'), session_user::text)
$$;
