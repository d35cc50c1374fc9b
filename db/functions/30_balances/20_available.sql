-- credits_private._available(account_id, credit_type, at): what is
-- available to a debit now: the sum of _free_grants, less the balance's
-- debt (overdraft, migration 0015: negative while in debt).
--
--   select credits_private._available('u_42', 'credits', credits.now());

create or replace function credits_private._available(account_id text, credit_type text, at timestamptz)
returns numeric
-- PL/pgSQL, not SQL: a SQL function with a FROM is not inlined as a scalar,
-- and is parsed and planned again on every call; PL/pgSQL keeps its plan.
language plpgsql
stable
as $$
begin
  return (select coalesce(sum(f.free), 0.000000)
          from credits_private._free_grants(_available.account_id, _available.credit_type, _available.at) f)
         - coalesce((select b.debt from credits_private.balances b
                     where b.account_id = _available.account_id and b.credit_type = _available.credit_type), 0);
end
$$;
