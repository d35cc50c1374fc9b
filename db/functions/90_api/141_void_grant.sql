-- credits.void_grant(grant_id, reason, account_id): takes back what is left of a grant
-- (a `void` ledger row); a part held by a hold stays for that hold. Voiding
-- twice returns 0 and changes nothing. Admin.
-- account_id (SPEC §4): the grant's account, so that on Citus the call runs
-- on its node; required there, optional here.
-- Errors: PT404 unknown grant (or one of another account than account_id);
-- PT422 no reason.
--
--   select * from credits.void_grant(17, 'promo abuse');

create or replace function credits.void_grant(grant_id bigint, reason text, account_id text default null)
returns table (voided numeric)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := credits.now();
  v_grant credits_private.grants;
begin
  perform credits_private._require_reason(reason, format('void grant %s', grant_id));
  select g.* into v_grant
  from credits_private.grants g
  where g.grant_id = void_grant.grant_id and (void_grant.account_id is null or g.account_id = void_grant.account_id);
  if not found then
    raise exception 'unknown grant %', coalesce(grant_id::text, 'null')
      using errcode = 'PT404', hint = 'Pass a grant_id from grant_credits, purchase_credits or credits.ledger.';
  end if;
  perform credits_private._account_to_act(v_grant.account_id);
  perform credits_private._lock_balance(v_grant.account_id, v_grant.credit_type, v_now);
  select g.* into v_grant
  from credits_private.grants g
  where g.account_id = v_grant.account_id and g.grant_id = void_grant.grant_id;

  voided := 0;
  if v_grant.voided_at is null and v_grant.expired_at is null then
    update credits_private.grants g
    set voided_at = v_now, reason = coalesce(g.reason || '; ', '') || 'voided: ' || void_grant.reason
    where g.account_id = v_grant.account_id and g.grant_id = void_grant.grant_id;
    voided := credits_private._write_off_grant(v_grant.account_id, v_grant.credit_type, v_grant.grant_id, 'void',
                                               void_grant.reason, v_now);
  end if;
  return next;
end
$$;

comment on function credits.void_grant(bigint, text, text) is
  'Voids what is left of a grant (a held part stays for its hold); admin.';
revoke all on function credits.void_grant(bigint, text, text) from public;
grant execute on function credits.void_grant(bigint, text, text) to credits_admin;
