"""`pgcredits migrate` / `rollback`, the layout of db/migrations, and migrations up and down on a real database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg
import pytest
from psycopg import sql

from pgcredits.dev.cluster import Cluster
from pgcredits.migrate import db_dir, function_files, migrate, rollback, yoyo_url


def test_every_migration_has_a_rollback() -> None:
    migrations = sorted((db_dir() / "migrations").glob("*.sql"))
    forward = [path for path in migrations if not path.name.endswith(".rollback.sql")]
    assert forward, "db/migrations holds no migration"
    missing = [path.name for path in forward if not path.with_suffix(".rollback.sql").exists()]
    assert missing == []


def test_migrating_again_applies_only_the_function_files(db: str) -> None:
    result = migrate(db)

    assert result.applied == []
    assert result.function_files == len(function_files())


def test_yoyo_url_passes_every_parameter_to_psycopg() -> None:
    url = yoyo_url("postgresql://app:p%40ss@/ledger?host=/run/postgresql&port=5433&sslmode=disable")

    assert url.startswith("postgresql+psycopg://?")
    assert dict(parse_qsl(urlsplit(url).query)) == {
        "user": "app",
        "password": "p@ss",
        "host": "/run/postgresql",
        "port": "5433",
        "dbname": "ledger",
        "sslmode": "disable",
    }


# Up and down on a real database --------------------------------------------------------------------
# Each test creates its own empty database (not a copy of the migrated template) and drops it after.


@pytest.fixture
def fresh_db(pg_cluster: Cluster) -> Iterator[str]:
    """The URL of a new, empty database: nothing migrated, no tests schema."""
    name = f"m_{secrets.token_hex(6)}"
    _cluster_statement(pg_cluster, "create database {}", name)
    try:
        yield pg_cluster.url(name)
    finally:
        _cluster_statement(pg_cluster, "drop database {} with (force)", name)


def migration_ids() -> list[str]:
    """Every migration of db/migrations, oldest first, named as yoyo names them."""
    return sorted(
        path.name.removesuffix(".sql")
        for path in (db_dir() / "migrations").glob("*.sql")
        if not path.name.endswith(".rollback.sql")
    )


def pgcredits_schemas(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select nspname from pg_namespace where nspname in ('credits', 'credits_private') order by 1"
        ).fetchall()
    return [name for (name,) in rows]


def definitions(url: str) -> list[tuple[Any, ...]]:
    """Every function and view of both schemas: identity, definition, privileges and comment."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            """
            select p.oid, p.oid::regprocedure::text, pg_get_functiondef(p.oid), p.proacl::text,
                   obj_description(p.oid, 'pg_proc'), p.proowner::regrole::text
            from pg_proc p
            where p.pronamespace in ('credits'::regnamespace, 'credits_private'::regnamespace)
              and p.prokind in ('f', 'p')
            union all
            select c.oid, c.oid::regclass::text, pg_get_viewdef(c.oid), c.relacl::text,
                   obj_description(c.oid, 'pg_class'), c.relowner::regrole::text
            from pg_class c
            where c.relnamespace in ('credits'::regnamespace, 'credits_private'::regnamespace)
              and c.relkind = 'v'
            order by 2
            """
        ).fetchall()


def open_an_account(url: str, account_id: str) -> list[tuple[Any, ...]]:
    """Define plan `free` (6 credits at signup) and open an account on it; return its balance rows."""
    with psycopg.connect(url) as conn:
        conn.execute("select credits.upsert_credit_type('credits')")
        conn.execute("select credits.upsert_plan('free', signup_grant => '{\"credits\": 6}')")
        conn.execute("select credits.open_account(%s)", (account_id,))
        return conn.execute(
            "select credit_type, available from credits.get_balance(%s)", (account_id,)
        ).fetchall()


def test_migrate_applies_every_migration_and_rollback_removes_them_all(fresh_db: str) -> None:
    assert migrate(fresh_db).applied == migration_ids()
    assert pgcredits_schemas(fresh_db) == ["credits", "credits_private"]

    assert rollback(fresh_db, None) == migration_ids()[::-1]
    assert pgcredits_schemas(fresh_db) == []

    assert migrate(fresh_db).applied == migration_ids()
    assert open_an_account(fresh_db, "u_1") == [("credits", Decimal(6))]


def test_migrating_twice_changes_no_function_and_keeps_every_one_working(fresh_db: str) -> None:
    migrate(fresh_db)
    balance = open_an_account(fresh_db, "u_1")
    before = definitions(fresh_db)
    assert len(before) > len(function_files())

    again = migrate(fresh_db)

    assert again.applied == []
    assert again.function_files == len(function_files())
    assert definitions(fresh_db) == before  # same objects (oids), definitions, privileges and comments
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select credits.now() = now()").fetchone() == (True,)
        assert conn.execute("select credit_type, available from credits.get_balance('u_1')").fetchall() == balance
        assert conn.execute("select count(*) from credits.reconciliation").fetchone() == (0,)
    assert open_an_account(fresh_db, "u_2") == [("credits", Decimal(6))]


def test_rolling_back_one_migration_at_a_time_reaches_an_empty_database(fresh_db: str) -> None:
    migrate(fresh_db)

    rolled_back = []
    while step := rollback(fresh_db, 1):
        assert len(step) == 1
        rolled_back += step

    assert rolled_back == migration_ids()[::-1]
    assert pgcredits_schemas(fresh_db) == []
    assert migrate(fresh_db).applied == migration_ids()
    assert open_an_account(fresh_db, "u_1") == [("credits", Decimal(6))]


def test_an_existing_plan_free_stays_where_canceled_subscriptions_end(fresh_db: str) -> None:
    """0007 (issue 17): the default plan is a flag now; a database migrated before it keeps its fallback, free."""
    migrate(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        conn.execute("select credits.upsert_plan('free'), credits.upsert_plan('pro')")
    since = sorted(p.stem for p in (db_dir() / "migrations").glob("*.sql")
                   if not p.stem.endswith(".rollback") and p.stem >= "0007")
    assert since[0] == "0007_plan_choices"
    assert rollback(fresh_db, len(since)) == since[::-1]
    assert migrate(fresh_db).applied == since
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select code from credits.plans where is_default").fetchall() == [("free",)]


def _cluster_statement(cluster: Cluster, template: str, name: str) -> None:
    """Run one statement naming `name` in the `postgres` database, outside any transaction."""
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL(template).format(sql.Identifier(name)))


def test_rolling_back_rollover_while_rollover_grants_exist_is_refused_by_name(fresh_db: str) -> None:
    migrate(fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        name = conn.execute("select current_database()").fetchone()
        assert name is not None
        conn.execute(sql.SQL("alter database {} set credits.allow_clock_override = 'on'").format(
            sql.Identifier(name[0])))
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("select credits.upsert_credit_type('credits')")
        conn.execute("select credits.upsert_plan('free', monthly_allowance => '{\"credits\": 10}',"
                     " rollover => '{\"credits\": {\"max\": 5}}')")
        conn.execute("select set_config('credits.now', '2026-03-01 00:00+00', false)")
        conn.execute("select credits.open_account('u_1')")
        conn.execute("select set_config('credits.now', '2026-04-02 00:00+00', false)")
        conn.execute("select credits.get_or_create_active_period('u_1')")  # the renewal rolls 5 over
        assert conn.execute("select count(*) from credits_private.grants where source = 'rollover'").fetchone() == (1,)
    since = [m for m in migration_ids() if m >= "0014_rollover"]
    with pytest.raises(Exception, match="cannot roll back 0014_rollover: 1 rollover grants exist"):
        rollback(fresh_db, len(since))
    with psycopg.connect(fresh_db) as conn:  # 0014 and the grant are still there
        assert conn.execute("select count(*) from credits_private.grants where source = 'rollover'").fetchone() == (1,)
