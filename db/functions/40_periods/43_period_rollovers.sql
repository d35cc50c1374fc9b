-- credits_private._period_rollovers(account, settled): what the renewal
-- from the account's stored period to the period settling leaves
-- (`settled`, credits_private._as_settled) rolls over, per credit type:
-- credits_private._rolled_over of the rule of the ending period's plan
-- (plans.rollover) on what was unused of the ending period's monthly
-- allowance. Only the monthly allowance rolls: purchased, daily, signup
-- and earlier rollover grants never do. Unused: what is left of the
-- period's monthly grants less what holds earmark on them (counted as
-- used), plus what their expiry already wrote off (expire_grants may have
-- run first: the ledger's `expiry` rows of the grant). Periods nobody
-- touched in between (missed renewals): the last of them, on the settled
-- plan, had its whole allowance unused, and what earlier renewals rolled
-- has ended with them, so that allowance is what rolls. Nothing when no
-- period opens, or for a suspended or closed account. The one rule behind
-- the write (_roll_period) and the read (_pending_allowance).
--
--   select * from credits_private._period_rollovers(a, credits_private._as_settled(a, credits.now()))
--   from credits_private.accounts a where a.account_id = 'u_42';

create or replace function credits_private._period_rollovers(account credits_private.accounts,
                                                             settled credits_private.accounts)
returns table (credit_type text, amount numeric, unused numeric, plan text)
language sql
stable
as $$
  with ending as (
    select settled.period_start = account.period_end as is_stored,
           case when settled.period_start = account.period_end then account.plan else settled.plan end as plan
  ), unused as (
    select g.credit_type, sum(g.remaining - g.held + coalesce(x.written_off, 0)) as unused
    from ending e
    join credits_private.grants g
      on e.is_stored and g.account_id = account.account_id and g.source = 'monthly'
         and g.period_start = account.period_start and g.voided_at is null
    left join lateral (select -sum(l.amount) as written_off
                       from credits_private.ledger_entries l
                       where l.account_id = g.account_id and l.grant_id = g.grant_id and l.kind = 'expiry') x
      on true
    group by g.credit_type
    union all
    select a.credit_type, a.amount
    from ending e
    cross join lateral credits_private._period_allowances(e.plan, settled.status) a
    where not e.is_stored
  )
  select u.credit_type, r.amount, u.unused, e.plan
  from unused u
  cross join ending e
  join credits_private.plans p on p.code = e.plan
  cross join lateral (select credits_private._rolled_over(p.rollover -> u.credit_type, u.unused) as amount) r
  where settled.period_start <> account.period_start and settled.status = 'active' and r.amount > 0
$$;
