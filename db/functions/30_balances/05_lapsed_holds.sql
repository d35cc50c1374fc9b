-- credits_private._lapsed_holds(account_id, credit_type, at): the holds of
-- a balance that have lapsed by `at` but are not settled yet (status held,
-- expires_at passed). What a lapsed hold holds: nothing. The one definition
-- behind what reads add back (_free_grants, _prepare_spend's period count)
-- and what writes settle (_settle). Inlined where it is used.
--
--   select hold_id from credits_private._lapsed_holds('u_42', 'credits', credits.now());

create or replace function credits_private._lapsed_holds(account_id text, credit_type text, at timestamptz)
returns setof credits_private.holds
language sql
stable
as $$
  select h.*
  from credits_private.holds h
  where h.account_id = _lapsed_holds.account_id
    and h.credit_type = _lapsed_holds.credit_type
    and h.status = 'held'
    and h.expires_at <= _lapsed_holds.at
$$;
