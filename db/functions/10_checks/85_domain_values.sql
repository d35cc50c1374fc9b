-- credits_private._domain_values(domain): the values a list domain of
-- migration 0010 allows (credits_private.grant_source, account_status,
-- subscription_status, ...), read from its CHECK, so a function that
-- refuses a value with a clear PT422 names the allowed ones from the one
-- home of the list.
--
--   select credits_private._domain_values('credits_private.grant_source');

create or replace function credits_private._domain_values(domain regtype)
returns text[]
language sql
stable
return (select pg_catalog.array_agg(m.v[1] order by m.n)
        from pg_catalog.pg_constraint c
        cross join lateral pg_catalog.regexp_matches(pg_catalog.pg_get_constraintdef(c.oid), '''([^'']*)''', 'g')
             with ordinality as m (v, n)
        where c.contypid = domain);
