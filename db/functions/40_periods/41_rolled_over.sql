-- credits_private._rolled_over(rule, unused): what of `unused` credits a
-- plan's rollover rule for one credit type ({"max": 100, "fraction": 0.5})
-- carries over: least(max, fraction * unused rounded down to 6 decimals);
-- no max: no cap, no fraction: all of it. A null rule carries nothing.
-- Inlined (a RETURN body).
--
--   select credits_private._rolled_over('{"max": 100, "fraction": 0.5}', 333.333333);  -- 100.000000

create or replace function credits_private._rolled_over(rule jsonb, unused numeric)
returns numeric
language sql
immutable
return case when rule is null or unused is null or unused <= 0 then 0.000000
            else least(coalesce((rule ->> 'max')::numeric, unused),
                       trunc(coalesce((rule ->> 'fraction')::numeric, 1) * unused, 6)) end;
