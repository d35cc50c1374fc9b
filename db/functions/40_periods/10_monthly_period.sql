-- credits_private._monthly_period(anchor, tz, at): the monthly period that
-- contains `at`, counted from the billing anchor in the account's time zone.
-- Period k runs from anchor + k months to anchor + k+1 months, both in local
-- time, so the anchor's day is kept and clamped to short months: opened on
-- Jan 31, renews Feb 28 (29), then Mar 31. Before the anchor: the first period.

create or replace function credits_private._monthly_period(anchor timestamptz, tz text, at timestamptz,
                                                           out period_start timestamptz,
                                                           out period_end timestamptz)
language plpgsql
stable
as $$
declare
  v_local_anchor timestamp := anchor at time zone tz;
  v_local_at timestamp := at at time zone tz;
  v_k integer := greatest(0, (extract(year from v_local_at) - extract(year from v_local_anchor))::integer * 12
                           + (extract(month from v_local_at) - extract(month from v_local_anchor))::integer);
begin
  while v_k > 0 and ((v_local_anchor + make_interval(months => v_k)) at time zone tz) > at loop
    v_k := v_k - 1;
  end loop;
  while ((v_local_anchor + make_interval(months => v_k + 1)) at time zone tz) <= at loop
    v_k := v_k + 1;
  end loop;
  period_start := (v_local_anchor + make_interval(months => v_k)) at time zone tz;
  period_end := (v_local_anchor + make_interval(months => v_k + 1)) at time zone tz;
end
$$;
