-- credits.release_hold(hold_id, account_id): gives a hold's credits back (and its
-- per-period use). Releasing twice, or a hold already captured or lapsed,
-- releases 0 and changes nothing. A credits_user may release only the
-- holds it made (_hold). A member's hold releases its pool's share too
-- (released counts both). account_id (SPEC §4): the hold's account,
-- required on Citus, optional here. Errors: PT404 unknown hold (or one of
-- another account than account_id); 42501; PT422 a pool's share of a
-- member's hold.
--
--   select * from credits.release_hold(12);

create or replace function credits.release_hold(hold_id bigint, account_id text default null)
returns table (released numeric)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_hold credits_private.holds := credits_private._hold(hold_id, account_id);
  v_share credits_private.holds;
  -- The caller may act on the hold's account (_hold leaves it to its caller).
  v_account credits_private.accounts := credits_private._account_to_act(v_hold.account_id);
begin
  -- Under the balance lock (which settles lapsed holds), the hold as it is
  -- now: what _hold checked (its account, maker, member) cannot change.
  perform credits_private._lock_balance(v_hold.account_id, v_hold.credit_type, v_now);
  select h.* into v_hold
  from credits_private.holds h
  where h.account_id = v_hold.account_id and h.hold_id = release_hold.hold_id;
  released := 0;
  if v_hold.status = 'held' then
    perform credits_private._end_hold(v_hold, 'released', 0, v_now);
    released := v_hold.amount;
    if v_hold.pool_hold_id is not null then
      -- Its pool's share goes back too (member, then pool).
      v_share := (credits_private._pool_end_hold(v_hold, 'released', 0, v_now)).share;
      if v_share.status = 'held' then
        released := released + v_share.amount;
      end if;
    end if;
  end if;
  return next;
end
$$;

comment on function credits.release_hold(bigint, text) is
  'Releases a hold, giving back its credits and its per-period use; twice releases 0.';
revoke all on function credits.release_hold(bigint, text) from public;
grant execute on function credits.release_hold(bigint, text) to credits_service, credits_user;
