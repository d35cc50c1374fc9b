-- Schema rules (SPEC §2, §3, §4; STYLE 1 and 6), checked from the system
-- catalogs so that any new table, view or function that breaks a rule fails
-- here by name, without anyone adding it to a list:
--   * credits_private: RLS enabled and forced on every table, no policy for
--     PUBLIC, no caller role (nor PUBLIC) may use the schema;
--   * credits: only functions and views, every function commented, every
--     view commented, readable by the four caller roles and writable by none;
--   * no function in either schema executable by PUBLIC, every SECURITY
--     DEFINER function pins a safe search_path;
--   * the scale-out rule: account_id in the primary key and every unique index
--     of a per-account table, and in every foreign key between them;
--   * credits_owner cannot log in, cannot bypass RLS, owns everything, and no
--     caller role can become it.
-- Every check selects the offenders, so a failure lists them.

BEGIN;
SELECT plan(25);
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

-- Scale-out rule (SPEC §4) -------------------------------------------------------

-- Per-account tables: the tables of credits_private with an account_id column.
SELECT is_empty($$
  SELECT a.attrelid::regclass::text
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  WHERE c.relnamespace = 'credits_private'::regnamespace AND c.relkind IN ('r', 'p')
    AND a.attname = 'account_id' AND NOT a.attisdropped
    AND NOT EXISTS (SELECT FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY k (attnum, n)
                    WHERE i.indrelid = a.attrelid AND i.indisprimary
                      AND k.n <= i.indnkeyatts AND k.attnum = a.attnum)
$$, 'every per-account table has account_id in its primary key');

SELECT is_empty($$
  SELECT format('%s on %s', i.indexrelid::regclass, i.indrelid::regclass)
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisunique
  WHERE c.relnamespace = 'credits_private'::regnamespace AND c.relkind IN ('r', 'p')
    AND a.attname = 'account_id' AND NOT a.attisdropped
    AND NOT EXISTS (SELECT FROM unnest(i.indkey::int2[]) WITH ORDINALITY k (attnum, n)
                    WHERE k.n <= i.indnkeyatts AND k.attnum = a.attnum)
$$, 'every unique index (and unique constraint) of a per-account table has account_id among its keys');

-- account_id of the referencing table must match account_id of the referenced one.
SELECT is_empty($$
  SELECT format('%s: %s -> %s', f.conname, f.conrelid::regclass, f.confrelid::regclass)
  FROM pg_constraint f
  JOIN pg_attribute src ON src.attrelid = f.conrelid AND src.attname = 'account_id' AND NOT src.attisdropped
  JOIN pg_attribute dst ON dst.attrelid = f.confrelid AND dst.attname = 'account_id' AND NOT dst.attisdropped
  WHERE f.contype = 'f'
    AND f.connamespace = 'credits_private'::regnamespace
    AND NOT EXISTS (SELECT FROM unnest(f.conkey, f.confkey) k (src_col, dst_col)
                    WHERE k.src_col = src.attnum AND k.dst_col = dst.attnum)
$$, 'every foreign key between per-account tables pairs account_id with account_id');

-- A table that references a per-account table is per-account itself.
SELECT is_empty($$
  SELECT format('%s: %s -> %s', f.conname, f.conrelid::regclass, f.confrelid::regclass)
  FROM pg_constraint f
  JOIN pg_attribute dst ON dst.attrelid = f.confrelid AND dst.attname = 'account_id' AND NOT dst.attisdropped
  WHERE f.contype = 'f'
    AND f.connamespace = 'credits_private'::regnamespace
    AND NOT EXISTS (SELECT FROM pg_attribute src
                    WHERE src.attrelid = f.conrelid AND src.attname = 'account_id' AND NOT src.attisdropped)
$$, 'no table without account_id references a per-account table');

-- Roles and ownership ----------------------------------------------------------

SELECT has_role('credits_owner', 'role credits_owner exists');

SELECT is_empty($$
  SELECT r.rolname FROM unnest(array['credits_service', 'credits_admin', 'credits_user', 'credits_auditor']) r (rolname)
  WHERE NOT EXISTS (SELECT FROM pg_roles p WHERE p.rolname = r.rolname)
$$, 'the four caller roles exist');

SELECT results_eq($$
  SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'credits_owner'
$$, $$ VALUES (false, false, false) $$,
  'credits_owner is NOLOGIN, not a superuser and cannot bypass RLS (forced RLS binds it)');

SELECT is_empty($$
  SELECT format('%s: %s', r.rolname, problem)
  FROM unnest(array['credits_service', 'credits_admin', 'credits_user', 'credits_auditor']) r (rolname)
  JOIN pg_roles p ON p.rolname = r.rolname
  CROSS JOIN LATERAL (VALUES
    (CASE WHEN p.rolsuper THEN 'superuser' END),
    (CASE WHEN p.rolbypassrls THEN 'bypassrls' END),
    (CASE WHEN pg_has_role(r.rolname, 'credits_owner', 'MEMBER') THEN 'member of credits_owner' END)) v (problem)
  WHERE problem IS NOT NULL
$$, 'no caller role is a superuser, bypasses RLS or can become credits_owner');

SELECT is_empty($$
  SELECT format('schema %s owned by %s', n.nspname, pg_get_userbyid(n.nspowner))
  FROM pg_namespace n
  WHERE n.nspname IN ('credits', 'credits_private') AND pg_get_userbyid(n.nspowner) <> 'credits_owner'
  UNION ALL
  SELECT format('relation %s owned by %s', c.oid::regclass, pg_get_userbyid(c.relowner))
  FROM pg_class c
  WHERE c.relnamespace IN ('credits'::regnamespace, 'credits_private'::regnamespace)
    AND pg_get_userbyid(c.relowner) <> 'credits_owner'
  UNION ALL
  SELECT format('function %s owned by %s', p.oid::regprocedure, pg_get_userbyid(p.proowner))
  FROM pg_proc p
  WHERE p.pronamespace IN ('credits'::regnamespace, 'credits_private'::regnamespace)
    AND pg_get_userbyid(p.proowner) <> 'credits_owner'
  UNION ALL
  SELECT format('type %s owned by %s', t.oid::regtype, pg_get_userbyid(t.typowner))
  FROM pg_type t
  WHERE t.typnamespace IN ('credits'::regnamespace, 'credits_private'::regnamespace)
    AND pg_get_userbyid(t.typowner) <> 'credits_owner'
$$, 'credits_owner owns both schemas and every relation, function and type in them');

-- Drift check -----------------------------------------------------------------

SELECT is_empty('SELECT * FROM credits.reconciliation', 'credits.reconciliation is empty');

SELECT * FROM finish();
ROLLBACK;
