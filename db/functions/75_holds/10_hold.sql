-- credits_private._hold(hold_id, account_id): the hold, once the caller may
-- end it; with account_id (SPEC §4: required on Citus), only a hold of that
-- account (another account's is PT404, as an unknown one). A
-- hold belongs to the caller that made it (SPEC §1 hold): a backend
-- (credits_service, credits_admin) may end any hold, a credits_user only
-- one a credits_user made on its own account. Errors: PT404 unknown hold,
-- and for a user naming another account's hold (42501 would reveal that
-- it exists); 42501 for a user naming its backend's hold on its account
-- (it sees that hold in credits.holds already); PT422 for a pool's share
-- of a member's hold (it ends with the member's).
-- Row-level security shows a credits_user only its own account's holds;
-- that the caller may act on the hold's account (_account_to_act) is the
-- caller's next step, not read twice: capture_hold settles the account
-- (_settle_account checks it), release_hold checks it.

create or replace function credits_private._hold(hold_id bigint, account_id text default null)
returns credits_private.holds
language plpgsql
stable
as $$
declare
  v_hold credits_private.holds;
begin
  -- Row-level security hides other accounts' holds from a credits_user.
  select h.* into v_hold
  from credits_private.holds h
  where h.hold_id = _hold.hold_id and (_hold.account_id is null or h.account_id = _hold.account_id);
  if not found then
    raise exception 'unknown hold %', coalesce(hold_id::text, 'null')
      using errcode = 'PT404', hint = 'Pass a hold_id from reserve_credits.';
  end if;
  if v_hold.member_id is not null then
    raise exception 'hold % is pool %''s share of a hold of member %', hold_id, v_hold.account_id, v_hold.member_id
      using errcode = 'PT422',
            hint = 'Capture or release the member''s hold: its pool''s share follows.';
  end if;
  if v_hold.maker_role <> 'credits_user' and not credits_private._caller_writes_all() then
    raise exception 'hold % was made by a backend (%): a credits_user may end only the holds it made',
                    hold_id, v_hold.maker_role
      using errcode = '42501', detail = format('made by %s', v_hold.actor),
            hint = 'Let the backend that reserved it capture or release it.';
  end if;
  return v_hold;
end
$$;
