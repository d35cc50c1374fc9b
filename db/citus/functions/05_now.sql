-- credits.now() on a Citus cluster: the same clock
-- (db/functions/00_clock_and_identity/10_now.sql), as PL/pgSQL rather than
-- an inlined expression. Inlined, it is a CASE over a STABLE function in the
-- statements that write with it (`set updated_at = credits.now()`), which
-- Citus refuses on distributed and reference tables ("non-IMMUTABLE
-- functions are not allowed in CASE or COALESCE statements"); as a call,
-- Citus evaluates it once, where the statement is planned.

create or replace function credits.now()
returns timestamptz
language plpgsql
stable
as $$
begin
  return case when coalesce(pg_catalog.current_setting('credits.now', true), '') = '' then pg_catalog.now()
              else credits_private._clock_override(pg_catalog.current_setting('credits.now', true)) end;
end
$$;
