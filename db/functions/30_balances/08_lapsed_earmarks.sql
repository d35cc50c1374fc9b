-- credits_private._lapsed_earmarks(account_id, credit_type, at): what the
-- holds of a balance that have lapsed by `at` (_lapsed_holds) still
-- earmark, per grant: {"<grant_id>": amount, ...}; null when nothing. What
-- _free_grants adds back (a lapsed hold holds nothing, even before it is
-- settled). PL/pgSQL, so its plan is kept; _free_grants calls it only for a
-- grant something holds (grants.held > 0), so a balance without live
-- holds never reads the holds.
--
--   select credits_private._lapsed_earmarks('u_42', 'credits', credits.now());

create or replace function credits_private._lapsed_earmarks(account_id text, credit_type text, at timestamptz)
returns jsonb
language plpgsql
stable
as $$
begin
  return (select jsonb_object_agg(l.grant_id, l.amount)
          from (select (e.value ->> 'grant_id')::bigint as grant_id, sum((e.value ->> 'amount')::numeric) as amount
                from credits_private._lapsed_holds(_lapsed_earmarks.account_id, _lapsed_earmarks.credit_type,
                                                   _lapsed_earmarks.at) h
                cross join lateral jsonb_array_elements(h.earmarks) e
                group by 1) l);
end
$$;
