-- Schema rules (SPEC §2, §3; STYLE 1 and 6), checked from the system
-- catalogs so that any new table, view or function that breaks a rule fails
-- here by name, without anyone adding it to a list:
--   * credits_private: RLS enabled and forced on every table, no policy for
--     PUBLIC, no caller role (nor PUBLIC) may use the schema;
--   * no function in either schema executable by PUBLIC, every SECURITY
--     DEFINER function pins a safe search_path;
--   * credits: only functions and views, every function commented, every
--     view commented, readable by the four caller roles and writable by none.
-- Every check selects the offenders, so a failure lists them. The rules of
-- scale-out and ownership: test_scale_out_and_ownership.sql.

BEGIN;
SELECT plan(15);
SELECT tests.catalog();

-- Guard: the checks below look at the right schemas (an empty schema would
-- make every is_empty pass).
SELECT ok((SELECT count(*) >= 10 FROM pg_class
           WHERE relnamespace = 'credits_private'::regnamespace AND relkind IN ('r', 'p'))
          AND (SELECT count(*) >= 10 FROM pg_proc WHERE pronamespace = 'credits'::regnamespace)
          AND (SELECT count(*) >= 5 FROM pg_class
               WHERE relnamespace = 'credits'::regnamespace AND relkind = 'v'),
          'the catalog checks see the tables of credits_private and the functions and views of credits');

-- Row-level security ----------------------------------------------------------

SELECT is_empty($$
  SELECT format('%s: relrowsecurity %s, relforcerowsecurity %s',
                c.oid::regclass, c.relrowsecurity, c.relforcerowsecurity)
  FROM pg_class c
  WHERE c.relnamespace IN ('credits_private'::regnamespace, 'credits'::regnamespace)
    AND c.relkind IN ('r', 'p')
    AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
$$, 'RLS is enabled and forced on every table');

SELECT is_empty($$
  SELECT format('policy %I on %s', p.polname, p.polrelid::regclass)
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid
  WHERE c.relnamespace = 'credits_private'::regnamespace
    AND 0::oid = ANY (p.polroles)
$$, 'no RLS policy applies TO PUBLIC: every policy is scoped to a role');

-- Privileges of PUBLIC ---------------------------------------------------------

-- A null proacl means the default, which lets PUBLIC execute.
SELECT is_empty($$
  SELECT p.oid::regprocedure::text
  FROM pg_proc p
  WHERE p.pronamespace IN ('credits'::regnamespace, 'credits_private'::regnamespace)
    AND EXISTS (SELECT FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
$$, 'no function in credits or credits_private is executable by PUBLIC');

SELECT is_empty($$
  SELECT format('%s: %s', c.oid::regclass, a.privilege_type)
  FROM pg_class c,
       aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char",
                                                c.relowner))) a
  WHERE c.relnamespace IN ('credits'::regnamespace, 'credits_private'::regnamespace)
    AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND a.grantee = 0
$$, 'PUBLIC has no privilege on any table, view or sequence of credits or credits_private');

SELECT is_empty($$
  SELECT format('%s: %s', n.nspname, a.privilege_type)
  FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
  WHERE n.nspname IN ('credits', 'credits_private') AND a.grantee = 0
$$, 'PUBLIC has no privilege on the schemas credits and credits_private');

-- Functions -------------------------------------------------------------------

SELECT is_empty($$
  SELECT p.oid::regprocedure::text
  FROM pg_proc p
  WHERE p.pronamespace IN ('credits'::regnamespace, 'credits_private'::regnamespace)
    AND p.prosecdef
    AND NOT EXISTS (SELECT FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%')
$$, 'every SECURITY DEFINER function pins search_path');

SELECT is_empty($$
  SELECT format('%s: %s', p.oid::regprocedure, s)
  FROM pg_proc p, unnest(p.proconfig) s
  WHERE p.pronamespace IN ('credits'::regnamespace, 'credits_private'::regnamespace)
    AND p.prosecdef
    AND s LIKE 'search\_path=%'
    AND (s ~* '\mpublic\M' OR s LIKE '%$user%' OR s ~* '\mtests\M')
$$, 'no SECURITY DEFINER function has public, $user or tests on its search_path');

SELECT is_empty($$
  SELECT p.oid::regprocedure::text
  FROM pg_proc p
  WHERE p.pronamespace = 'credits'::regnamespace
    AND coalesce(btrim(obj_description(p.oid, 'pg_proc')), '') = ''
$$, 'every function in credits has a COMMENT (the gateway serves it as documentation)');

SELECT is_empty($$
  SELECT c.oid::regclass::text
  FROM pg_class c
  WHERE c.relnamespace = 'credits'::regnamespace AND c.relkind = 'v'
    AND coalesce(btrim(obj_description(c.oid, 'pg_class')), '') = ''
$$, 'every view in credits has a COMMENT');

-- The public surface ---------------------------------------------------------

-- Relations other than views, types other than the views' row types (and
-- their array types), routines other than plain functions.
SELECT is_empty($$
  SELECT format('relation %s (relkind %s)', c.oid::regclass, c.relkind)
  FROM pg_class c
  WHERE c.relnamespace = 'credits'::regnamespace AND c.relkind <> 'v'
  UNION ALL
  SELECT format('type %s', t.oid::regtype)
  FROM pg_type t
  WHERE t.typnamespace = 'credits'::regnamespace
    AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'v')
    AND NOT EXISTS (SELECT FROM pg_type e JOIN pg_class c ON c.oid = e.typrelid
                    WHERE e.oid = t.typelem AND e.typarray = t.oid AND c.relkind = 'v')
  UNION ALL
  SELECT format('routine %s (prokind %s)', p.oid::regprocedure, p.prokind)
  FROM pg_proc p
  WHERE p.pronamespace = 'credits'::regnamespace AND p.prokind <> 'f'
$$, 'schema credits holds only functions and views (no tables, sequences, types or procedures)');

SELECT is_empty($$
  SELECT format('%s: %s', r.rolname, priv)
  FROM unnest(array['credits_service', 'credits_admin', 'credits_user', 'credits_auditor']) r (rolname),
       unnest(array['USAGE', 'CREATE']) priv
  WHERE has_schema_privilege(r.rolname, 'credits_private', priv)
$$, 'no caller role has USAGE (or CREATE) on schema credits_private');

SELECT is_empty($$
  SELECT r.rolname
  FROM unnest(array['credits_service', 'credits_admin', 'credits_user', 'credits_auditor']) r (rolname)
  WHERE has_schema_privilege(r.rolname, 'credits', 'CREATE')
     OR NOT has_schema_privilege(r.rolname, 'credits', 'USAGE')
$$, 'every caller role has USAGE on schema credits and none may CREATE in it');

SELECT is_empty($$
  SELECT format('%s not readable by %s', c.oid::regclass, r.rolname)
  FROM pg_class c,
       unnest(array['credits_service', 'credits_admin', 'credits_user', 'credits_auditor']) r (rolname)
  WHERE c.relnamespace = 'credits'::regnamespace AND c.relkind = 'v'
    AND NOT has_table_privilege(r.rolname, c.oid, 'SELECT')
$$, 'every view in credits is readable by the four caller roles');

SELECT is_empty($$
  SELECT format('%s writable by %s', c.oid::regclass, r.rolname)
  FROM pg_class c,
       unnest(array['credits_service', 'credits_admin', 'credits_user', 'credits_auditor']) r (rolname)
  WHERE c.relnamespace = 'credits'::regnamespace AND c.relkind = 'v'
    AND has_table_privilege(r.rolname, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
$$, 'no caller role may write to a view in credits');

SELECT * FROM finish();
ROLLBACK;
