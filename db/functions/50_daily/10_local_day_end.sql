-- credits_private._local_day_end(tz, at): the local midnight that ends the
-- local day containing `at` in time zone `tz`: when a daily grant issued at
-- `at` ends. A midnight that a DST change skips follows PostgreSQL's rule (it
-- becomes the first instant after the gap).

create or replace function credits_private._local_day_end(tz text, at timestamptz)
returns timestamptz
language sql
stable
as $$
  select ((at at time zone tz)::date + 1)::timestamp at time zone tz
$$;
