-- credits_private._is_domain_value(value, domain): is `value` one of the
-- values the list domain allows (_domain_values)? Null is not.
--
--   select credits_private._is_domain_value('promo', 'credits_private.grant_source');  -- true

create or replace function credits_private._is_domain_value(value text, domain regtype)
returns boolean
language sql
stable
return value is not null and value operator(pg_catalog.=) any (credits_private._domain_values(domain));
