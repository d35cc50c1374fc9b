-- credits_private._settled_draw_plan(account_id, credit_type, cost): the
-- draw of credits_private._draw_plan for a balance known to be settled:
-- what deduct_credits draws after its UPDATE matched the balance row with
-- settle_at still ahead. Then no grant has ended, no hold has lapsed and no
-- future-dated grant has started (each of those moves settle_at to its
-- time), so what is free in a grant is its remaining less held, and the
-- plan reads the grants alone: no lapsed earmarks to add back, no pending
-- allowance. The same burn-down order; the rows to draw, in that order,
-- with their source and what each gives.
--
--   select * from credits_private._settled_draw_plan('u_42', 'credits', 3);

create or replace function credits_private._settled_draw_plan(account_id text, credit_type text, cost numeric)
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
           coalesce(sum(g.remaining - g.held) over (burn_down rows between unbounded preceding and 1 preceding), 0)
             as drawn_before
    from credits_private.grants g
    where g.account_id = _settled_draw_plan.account_id
      and g.credit_type = _settled_draw_plan.credit_type
      and g.is_open
      and g.remaining > g.held
    window burn_down as (order by g.priority, g.expires_at nulls last, g.starts_at, g.grant_id)
  ) p
  where p.drawn_before < cost
$$;
