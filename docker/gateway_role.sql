-- The gateway's login role (docs/gateway.md): no rights of its own (NOINHERIT),
-- a member of the four caller roles so it may SET ROLE to each. Run once the
-- migration has created those roles; safe to run again (the password is reset).
--   psql -v gateway_password=... -f docker/gateway_role.sql
select format('create role pgcredits_gateway login noinherit password %L', :'gateway_password')
where not exists (select from pg_roles where rolname = 'pgcredits_gateway')
\gexec
alter role pgcredits_gateway password :'gateway_password';
grant credits_user, credits_service, credits_admin, credits_auditor to pgcredits_gateway;
