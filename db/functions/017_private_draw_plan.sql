-- credits_private._draw_plan(account_id, credit_type, cost, at): which grants
-- a debit of `cost` draws from, and how much from each, in burn-down order:
-- priority (lower first), then soonest expires_at (never-expiring last),
-- then oldest. The one definition of that order, used by check_feature to
-- preview and by deduct_credits to charge. The caller holds the balance lock.

create or replace function credits_private._draw_plan(account_id text, credit_type text, cost numeric,
                                                      at timestamptz)
returns table (draw_order bigint, grant_id bigint, source text, take numeric)
language sql
stable
as $$
  select p.draw_order, p.grant_id, p.source, least(p.free, cost - p.drawn_before)
  from (
    select row_number() over burn_down as draw_order,
           g.grant_id,
           g.source,
           g.remaining - g.held as free,
           coalesce(sum(g.remaining - g.held) over (burn_down rows between unbounded preceding
                                                                  and 1 preceding), 0) as drawn_before
    from credits_private.grants g
    where g.account_id = _draw_plan.account_id
      and g.credit_type = _draw_plan.credit_type
      and g.is_open
      and g.remaining > g.held
      and g.starts_at <= at
      and (g.expires_at is null or g.expires_at > at)
    window burn_down as (order by g.priority, g.expires_at nulls last, g.starts_at, g.grant_id)
  ) p
  where p.drawn_before < cost
$$;
