-- credits_private._held(account_id, credit_type, at): what the live holds of
-- a balance hold at `at`: a hold that has lapsed holds nothing, even before
-- it is settled (_lapsed_holds are the others).
--
--   select credits_private._held('u_42', 'credits', credits.now());

create or replace function credits_private._held(account_id text, credit_type text, at timestamptz)
returns numeric
-- PL/pgSQL, not SQL: a SQL function with a FROM is not inlined as a scalar,
-- and is parsed and planned again on every call; PL/pgSQL keeps its plan.
language plpgsql
stable
as $$
begin
  return (select coalesce(sum(h.amount), 0.000000)
          from credits_private.holds h
          where h.account_id = _held.account_id and h.credit_type = _held.credit_type
            and h.status = 'held' and h.expires_at > _held.at);
end
$$;
