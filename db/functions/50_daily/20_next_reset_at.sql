-- credits_private._next_reset_at(daily_allowance, credit_type, tz,
-- period_end, at): when the credits of a credit type next renew for an
-- account on a plan with `daily_allowance`, in time zone `tz`, whose period
-- ends at `period_end`: the next local midnight where the plan has a daily
-- allowance of that type, else the period's end. get_balance's and
-- get_quotas' next_reset_at. A single expression, so it is inlined: built-ins
-- qualified.

create or replace function credits_private._next_reset_at(daily_allowance jsonb, credit_type text, tz text,
                                                          period_end timestamptz, at timestamptz)
returns timestamptz
language sql
stable
as $$
  select case when daily_allowance OPERATOR(pg_catalog.?) credit_type
              then least(period_end, credits_private._local_day_end(tz, at))
              else period_end end
$$;
