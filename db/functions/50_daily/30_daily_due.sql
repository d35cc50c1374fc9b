-- credits_private._daily_due(account, credit_type, at): who gets a daily
-- grant: the plan's daily allowance of the credit type for the local day
-- containing `at`, when the account is active and has no daily grant of
-- that type for that day yet; else 0. The one rule behind the write
-- (_settle_daily, under the balance lock) and the read (_pending_daily);
-- grant_daily_credits applies it set-based, for a million accounts in one
-- statement, and names it there.
--
--   select credits_private._daily_due(a, 'credits', credits.now()) from credits_private.accounts a;

create or replace function credits_private._daily_due(account credits_private.accounts, credit_type text,
                                                      at timestamptz)
returns numeric
-- PL/pgSQL, not SQL: a SQL function with a sub-select is not inlined, and is
-- parsed and planned again on every call; PL/pgSQL keeps its plans.
language plpgsql
stable
as $$
begin
  -- The grants, then the plan: on Citus a statement of a delegated call may
  -- not join the catalog (a reference table) with the account's rows.
  if account.status <> 'active'
     or exists (select
                from credits_private.grants g
                where g.account_id = account.account_id
                  and g.credit_type = _daily_due.credit_type
                  and g.source = 'daily'
                  and g.local_day = (at at time zone account.timezone)::date) then
    return 0.000000;
  end if;
  return coalesce((select (p.daily_allowance ->> _daily_due.credit_type)::numeric(30,6)
                   from credits_private.plans p
                   where p.code = account.plan), 0.000000);
end
$$;
