-- credits_private._draw_plan(account_id, credit_type, cost, at): which grants
-- a debit of `cost` draws from, and how much from each, in burn-down order:
-- priority (lower first), then soonest expires_at (never-expiring last),
-- then oldest. The one definition of that order, used by check_feature to
-- preview and by deduct_credits to charge. The caller holds the balance lock.
-- check_feature may add the allowance of a period not opened yet as a
-- grant still to come (pending, ending at pending_expires_at; grant_id null),
-- and the daily grant the next mutating call would issue (pending_daily,
-- ending at pending_daily_expires_at).

create or replace function credits_private._draw_plan(account_id text, credit_type text, cost numeric,
                                                      at timestamptz, pending numeric default 0,
                                                      pending_expires_at timestamptz default null,
                                                      pending_daily numeric default 0,
                                                      pending_daily_expires_at timestamptz default null)
returns table (draw_order bigint, grant_id bigint, source text, take numeric)
language sql
stable
as $$
  select p.draw_order, p.grant_id, p.source, least(p.free, cost - p.drawn_before)
  from (
    select row_number() over burn_down as draw_order,
           g.grant_id,
           g.source,
           g.free,
           coalesce(sum(g.free) over (burn_down rows between unbounded preceding and 1 preceding), 0)
             as drawn_before
    from (select f.grant_id, f.source, f.free, f.priority, f.expires_at, f.starts_at
          from credits_private._free_grants(account_id, credit_type, at) f
          union all
          select null, 'monthly', pending, credits_private._default_priority('monthly'), pending_expires_at, at
          where pending > 0
          union all
          select null, 'daily', pending_daily, credits_private._default_priority('daily'), pending_daily_expires_at, at
          where pending_daily > 0) g
    window burn_down as (order by g.priority, g.expires_at nulls last, g.starts_at, g.grant_id nulls last)
  ) p
  where p.drawn_before < cost
$$;
