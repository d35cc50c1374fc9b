-- Schema rules (SPEC §3, §4; STYLE 1), checked from the system catalogs so
-- that any new table or function that breaks a rule fails here by name:
--   * the scale-out rule: account_id in the primary key and every unique index
--     of a per-account table, and in every foreign key between them;
--   * credits_owner cannot log in, cannot bypass RLS, owns everything, and no
--     caller role can become it.
-- Every check selects the offenders, so a failure lists them.

BEGIN;
SELECT plan(11);
SELECT tests.catalog();

-- Guard: the scale-out checks look at the per-account tables (without any,
-- every is_empty below would pass).
SELECT ok((SELECT count(DISTINCT a.attrelid) >= 5
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           WHERE c.relnamespace = 'credits_private'::regnamespace AND c.relkind IN ('r', 'p')
             AND a.attname = 'account_id' AND NOT a.attisdropped),
          'the scale-out checks see the per-account tables of credits_private (five or more)');

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
