-- credits_private._hold(hold_id): the hold, once the caller may act on its
-- account. 42501 for another user's hold would reveal that it exists, so a
-- user naming a hold that is not theirs is told it is unknown (PT404).

create or replace function credits_private._hold(hold_id bigint)
returns credits_private.holds
language plpgsql
stable
as $$
declare
  v_hold credits_private.holds;
begin
  -- Row-level security hides other accounts' holds from a credits_user.
  select h.* into v_hold from credits_private.holds h where h.hold_id = _hold.hold_id;
  if not found then
    raise exception 'unknown hold %', coalesce(hold_id::text, 'null')
      using errcode = 'PT404', hint = 'Pass a hold_id from reserve_credits.';
  end if;
  perform credits_private._account(v_hold.account_id, true);
  return v_hold;
end
$$;
