-- credits_private._period_allowances(plan, status): what opening a period
-- grants: the plan's monthly allowance per credit type, for an active
-- account; nothing for a suspended or closed one (its credits stay as they
-- are). The one rule behind the write (_open_period,
-- _issue_monthly_allowance) and the read (_pending_allowance).
--
--   select * from credits_private._period_allowances('pro', 'active');

create or replace function credits_private._period_allowances(plan text, status text)
returns table (credit_type text, amount numeric)
language sql
stable
as $$
  select e.key, e.value::numeric
  from credits_private.plans p
  cross join lateral jsonb_each(p.monthly_allowance) e
  where p.code = _period_allowances.plan and _period_allowances.status = 'active'
$$;
