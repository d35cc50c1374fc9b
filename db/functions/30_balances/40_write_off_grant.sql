-- credits_private._write_off_grant(account_id, credit_type, grant_id, kind,
-- reason, at): a grant that has ended (expired or voided) keeps only what
-- holds still earmark; the rest leaves the balance in one ledger row of
-- `kind` (expiry or void). Nothing happens when nothing is free. A
-- future-dated grant that has not started (not_before) holds all of its
-- remainder for its start, not for a hold: all of it goes, and leaves
-- balances.held too. The caller holds the balance lock. Returns the amount
-- written off.

create or replace function credits_private._write_off_grant(account_id text, credit_type text, grant_id bigint,
                                                            kind text, reason text, at timestamptz)
returns numeric
language plpgsql
as $$
declare
  v_lapse numeric;
  v_unstarted numeric;
  v_balance credits_private.balances;
begin
  select g.remaining - g.held + v.unstarted, v.unstarted into v_lapse, v_unstarted
  from credits_private.grants g
  cross join lateral (select case when g.not_before is not null then g.held else 0 end as unstarted) v
  where g.account_id = _write_off_grant.account_id and g.grant_id = _write_off_grant.grant_id;
  if not coalesce(v_lapse > 0, false) then
    return 0;
  end if;
  update credits_private.grants g
  set remaining = g.held - v_unstarted, held = g.held - v_unstarted, not_before = null
  where g.account_id = _write_off_grant.account_id and g.grant_id = _write_off_grant.grant_id;

  update credits_private.balances b
  set balance = b.balance - v_lapse, held = b.held - v_unstarted, updated_at = at
  where b.account_id = _write_off_grant.account_id and b.credit_type = _write_off_grant.credit_type
  returning b.* into v_balance;

  perform credits_private._write_ledger(v_balance, kind, -v_lapse, at, grant_id => grant_id, reason => reason);
  return v_lapse;
end
$$;
