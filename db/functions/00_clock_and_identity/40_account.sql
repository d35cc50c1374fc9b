-- credits_private._account_for(account_id, reaches_every_account): the
-- account row, once the caller may reach it: any account when its role
-- reaches every account (reaches_every_account), else only the one its JWT
-- sub names. Raises 42501 for another account (before looking, so
-- existence does not leak), PT422 for an empty id, PT404 for an unknown
-- one. Called as _account_to_read or _account_to_act.

create or replace function credits_private._account_for(account_id text, reaches_every_account boolean)
returns credits_private.accounts
language plpgsql
stable
as $$
declare
  v_account credits_private.accounts;
begin
  if account_id is null or account_id = '' then
    raise exception 'account_id is required'
      using errcode = 'PT422', hint = 'Pass the app''s id of the account.';
  end if;
  if not reaches_every_account and account_id is distinct from credits_private._caller_own_account() then
    raise exception 'caller may not act on account %', credits_private._shown(account_id)
      using errcode = '42501',
            detail = format('role %s, subject %s', coalesce(credits_private._caller_role(), 'none'),
                            coalesce(credits_private._caller_sub(), 'none')),
            hint = 'A credits_user may act only on the account named by its JWT sub claim.';
  end if;
  select a.* into v_account
  from credits_private.accounts a
  where a.account_id = _account_for.account_id;
  if not found then
    raise exception 'unknown account %', credits_private._shown(account_id)
      using errcode = 'PT404', hint = 'Open it first with credits.open_account.';
  end if;
  return v_account;
end
$$;
