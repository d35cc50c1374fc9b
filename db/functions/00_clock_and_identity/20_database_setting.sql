-- credits_private._database_setting(name): the value of a setting made for
-- this database with ALTER DATABASE ... SET name = value, read from the
-- catalog, or null. Not current_setting(): any session may SET a custom
-- setting for itself, so a limit a caller must not lift (the clock
-- override, the longest hold a user may ask for) is read from here.
--
--   select credits_private._database_setting('credits.user_max_hold_ttl');

create or replace function credits_private._database_setting(name text)
returns text
language sql
stable
return (
  select pg_catalog.substr(c.setting, pg_catalog.length(name) + 2)
  from pg_catalog.pg_db_role_setting s
  join pg_catalog.pg_database d on d.oid = s.setdatabase
  cross join lateral pg_catalog.unnest(s.setconfig) as c (setting)
  where d.datname = pg_catalog.current_database() and s.setrole = 0
    and pg_catalog.starts_with(c.setting, name || '=')
);
