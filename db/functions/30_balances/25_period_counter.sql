-- credits_private._period_counter(counter, counted_period, period_start): a
-- balance's period counter (period_granted, period_used) as of the period
-- starting period_start: its value while it counts that period
-- (balances.period_start = counted_period), else 0: a new period starts
-- from zero. The counters are reset lazily, by the next write to the row,
-- and read through this too. Inlined (a RETURN body). deduct_credits keeps
-- its own form: a debit never moves a counter back to an older period.
--
--   update credits_private.balances b
--   set period_granted = credits_private._period_counter(b.period_granted, b.period_start, p) + 5 ...

create or replace function credits_private._period_counter(counter numeric, counted_period timestamptz,
                                                           period_start timestamptz)
returns numeric
language sql
immutable
return case when counted_period = period_start then counter else 0.000000 end;
