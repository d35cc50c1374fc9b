-- What opening the current period would grant of a credit type: the
-- settled plan's monthly allowance when settling opens a period, else 0 (a
-- running period, a subscriber awaiting its renewal, and a suspended or
-- closed account: its credits stay as they are).
create or replace function credits_private._pending_allowance(account credits_private.accounts, credit_type text,
                                                              at timestamptz)
returns numeric
-- PL/pgSQL, not SQL: a SQL function with a sub-select is not inlined, and is
-- parsed and planned again on every call; PL/pgSQL keeps its plans.
language plpgsql
stable
as $$
begin
  return case when account.period_end > at or account.status <> 'active' then 0.000000
              else coalesce((select (p.monthly_allowance ->> _pending_allowance.credit_type)::numeric
                             from credits_private._as_settled(account, at) s
                             join credits_private.plans p on p.code = s.plan
                             where s.period_start <> account.period_start), 0.000000) end;
end
$$;
