-- credits_private._view_available(account_id, credit_type) and
-- _view_held(account_id, credit_type): what the view credits.balances shows
-- of a balance row now: _settled_balance's available and _held. A view
-- calls functions with the caller's rights, and callers cannot read
-- credits_private: so these run as the owner, where row-level security
-- still narrows them to the caller's own accounts (_account), and callers
-- may execute them (without USAGE on credits_private they cannot name
-- them). Two functions, not one returning both, so that the view stays
-- auto-updatable in form and an UPDATE is refused by its privileges.
--
--   select credits_private._view_available('u_42', 'credits');

create or replace function credits_private._view_available(account_id text, credit_type text)
returns numeric
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return (credits_private._settled_balance(credits_private._account_to_read(account_id), credit_type,
                                           credits.now())).available;
end
$$;

create or replace function credits_private._view_held(account_id text, credit_type text)
returns numeric
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return credits_private._held((credits_private._account_to_read(account_id)).account_id, credit_type,
                               credits.now());
end
$$;

revoke all on function credits_private._view_available(text, text), credits_private._view_held(text, text)
  from public;
grant execute on function credits_private._view_available(text, text), credits_private._view_held(text, text)
  to credits_service, credits_admin, credits_user, credits_auditor;
