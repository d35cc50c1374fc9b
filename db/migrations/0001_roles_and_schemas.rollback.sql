-- Drops both schemas and everything in them. The roles are cluster-wide and
-- may serve other databases, so they are kept; drop them by hand if unused.
drop schema if exists credits cascade;
drop schema if exists credits_private cascade;
do $$
begin
  execute format('revoke create on database %I from credits_owner', current_database());
end
$$;
