-- credits_private._shown(value): a caller's value as an error message shows
-- it: whole up to 100 characters, else the first 60 and the length, so a
-- hostile argument is named without being echoed back in full.
--
--   raise exception 'unknown feature %', credits_private._shown(feature) ...

create or replace function credits_private._shown(value text)
returns text
language sql
immutable
return case when pg_catalog.length(value) > 100
            then pg_catalog.left(value, 60) || pg_catalog.format('... (%s characters)', pg_catalog.length(value))
            else coalesce(value, 'null') end;
