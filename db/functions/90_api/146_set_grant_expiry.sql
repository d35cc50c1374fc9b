-- credits.set_grant_expiry(grant_id, expires_at, reason, account_id):
-- moves the end of a grant, later or earlier (null: never), in an
-- `expiry_changed` ledger row (amount 0, the old and new ends in its metadata). An end at or
-- before now expires the grant at once: its `expiry` row, and the events
-- of that balance move, in the same transaction. Holds that earmark a
-- given (not purchased) grant keep the rule of reserve_credits (the
-- twin): they lapse at most 15 minutes after its new end. Setting the end
-- it already has changes nothing. Returns the end it had, what expired
-- now and what is available after. account_id (optional; required on
-- Citus): the grant's account, as for void_grant. Admin.
-- Errors: PT404 unknown grant (or one of another account than
-- account_id); PT422 no reason, a grant that has ended
-- (expired or voided), an end not after the grant's start.
--
--   select * from credits.set_grant_expiry(17, '2026-06-30 23:59:59+00', 'goodwill: promo extended');

create or replace function credits.set_grant_expiry(grant_id bigint, expires_at timestamptz, reason text,
                                                    account_id text default null)
returns table (previous_expires_at timestamptz, expired numeric, available numeric)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_grant credits_private.grants;
  v_balance credits_private.balances;
  v_target timestamptz := set_grant_expiry.expires_at;
  v_clamped integer := 0;
  v_entry_id bigint;
begin
  perform credits_private._require_reason(reason, format('change the expiry of grant %s', grant_id));
  select g.* into v_grant
  from credits_private.grants g
  where g.grant_id = set_grant_expiry.grant_id
    and (set_grant_expiry.account_id is null or g.account_id = set_grant_expiry.account_id);
  if not found then
    raise exception 'unknown grant %', coalesce(set_grant_expiry.grant_id::text, 'null')
      using errcode = 'PT404', hint = 'Pass a grant_id from grant_credits, purchase_credits or credits.ledger.';
  end if;
  perform credits_private._account_to_act(v_grant.account_id);
  v_balance := credits_private._lock_balance(v_grant.account_id, v_grant.credit_type, v_now);
  select g.* into v_grant
  from credits_private.grants g
  where g.account_id = v_grant.account_id and g.grant_id = set_grant_expiry.grant_id;

  -- Ended: written off, or past its end (a grant drawn to 0 before its end
  -- has nothing to write off, and stays ended all the same).
  if v_grant.expired_at is not null or v_grant.voided_at is not null or v_grant.expires_at <= v_now then
    raise exception 'grant % has ended: % at %', v_grant.grant_id,
                    case when v_grant.voided_at is not null then 'voided' else 'expired' end,
                    coalesce(v_grant.voided_at, v_grant.expired_at, v_grant.expires_at)
      using errcode = 'PT422', detail = 'What was left of it has been written off.',
            hint = 'Grant the credits again with grant_credits.';
  end if;
  if v_target <= v_grant.starts_at then
    raise exception 'expires_at % is not after starts_at % of grant %', v_target, v_grant.starts_at,
                    v_grant.grant_id
      using errcode = 'PT422', detail = 'A grant cannot end before it starts.',
            hint = 'Pass a later expires_at, or null for credits that never expire.';
  end if;

  expired := 0;
  if v_grant.expires_at is distinct from v_target then
    update credits_private.grants g
    set expires_at = v_target
    where g.account_id = v_grant.account_id and g.grant_id = v_grant.grant_id;
    v_entry_id := credits_private._write_ledger(
      v_balance, 'expiry_changed', 0, v_now, grant_id => v_grant.grant_id, reason => reason,
      metadata => jsonb_build_object('from', v_grant.expires_at, 'to', v_target));

    -- The clamp of credits.reserve_credits (SPEC §1 hold): a hold
    -- never outlives the given grants it earmarks by more than 15 minutes.
    if v_grant.source <> 'purchase' and v_target is not null then
      update credits_private.holds h
      set expires_at = v_target + interval '15 minutes'
      where h.account_id = v_grant.account_id
        and h.credit_type = v_grant.credit_type
        and h.status = 'held'
        and h.expires_at > v_target + interval '15 minutes'
        and h.earmarks @> jsonb_build_array(jsonb_build_object('grant_id', v_grant.grant_id));
      get diagnostics v_clamped = row_count;
    end if;

    if v_target <= v_now or v_clamped > 0 then
      -- Due now (the grant, or a clamped hold): settle at once; else
      -- settle_at only moves earlier.
      perform credits_private._settle(v_grant.account_id, v_grant.credit_type, v_now);
      select coalesce(-sum(l.amount), 0) into expired
      from credits_private.ledger_entries l
      where l.account_id = v_grant.account_id and l.grant_id = v_grant.grant_id and l.kind = 'expiry'
        and l.entry_id > v_entry_id;
    else
      update credits_private.balances b
      set settle_at = least(b.settle_at, v_target)
      where b.account_id = v_grant.account_id and b.credit_type = v_grant.credit_type;
    end if;
  end if;

  previous_expires_at := v_grant.expires_at;
  available := credits_private._available(v_grant.account_id, v_grant.credit_type, v_now);
  return next;
end
$$;

comment on function credits.set_grant_expiry(bigint, timestamptz, text, text) is
  'Moves the end of a grant (null: never) in an expiry_changed ledger row, expiring it at once when the new end has passed; admin.';
revoke all on function credits.set_grant_expiry(bigint, timestamptz, text, text) from public;
grant execute on function credits.set_grant_expiry(bigint, timestamptz, text, text) to credits_admin;
