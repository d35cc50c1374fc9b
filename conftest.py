"""Fixtures for the pgTAP files (db/tests/test*.sql) and the Python tests (tests/).

One throwaway PostgreSQL cluster per session. A template database is migrated
once; every Python test gets its own copy (`db`), the pgTAP files share one
copy (`pgtap`), each file rolling back what it did. `pgbouncer` is the URL of
`db` through PgBouncer in transaction mode (tests/pgbouncer.py), started once
for the session. A missing server, pgTAP, pg_cron or PgBouncer fails the
session: nothing here ever skips.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.abc import Query
from psycopg.conninfo import conninfo_to_dict
from pytest_pgtap.pgtap import Runner

from pgcredits.dev.cluster import Cluster, free_port
from pgcredits.migrate import db_dir, migrate
from tests.pgbouncer import PgBouncer, running

TEMPLATE = "pgcredits_template"
# pg_cron's launcher stays connected to cron.database_name, and CREATE DATABASE
# refuses to copy a template anyone is connected to: so not the template.
CRON_DATABASE = "pgcredits_cron"
# Test databases let a session set credits.now to travel in time (docs/contract.md, Time).
TEST_DATABASE_SETTINGS = {"credits.allow_clock_override": "on"}


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway cluster on a free loopback port, deleted at the end of the session."""
    cluster = Cluster.throwaway(port=free_port(), cron_database=CRON_DATABASE)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def template_db(pg_cluster: Cluster) -> str:
    """The name of the migrated template database: pgTAP and db/tests/helpers.sql, no pg_cron."""
    _admin(pg_cluster, sql.SQL("create database {}").format(sql.Identifier(TEMPLATE)))
    url = pg_cluster.url(TEMPLATE)
    migrate(url)
    with psycopg.connect(url) as conn:
        conn.execute("create extension pgtap")
        helpers = db_dir() / "tests" / "helpers.sql"
        if helpers.exists():
            conn.execute(helpers.read_bytes())
    # Copies fail while anyone is connected to the template: from now on nobody can.
    _admin(
        pg_cluster,
        sql.SQL("alter database {} with is_template true allow_connections false").format(sql.Identifier(TEMPLATE)),
    )
    return TEMPLATE


@pytest.fixture
def db(pg_cluster: Cluster, template_db: str) -> Iterator[str]:
    """The URL of a fresh copy of the template, dropped after the test.

    After the test, `credits.reconciliation` (where it exists) must be empty.
    """
    name = f"t_{secrets.token_hex(6)}"
    url = _clone(pg_cluster, template_db, name)
    try:
        yield url
        _assert_reconciled(url)
    finally:
        _admin(pg_cluster, sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def connect(db: str) -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    """A factory of psycopg connections to `db` (keyword arguments go to psycopg.connect), closed after the test."""
    connections: list[psycopg.Connection[Any]] = []

    def factory(**kwargs: Any) -> psycopg.Connection[Any]:
        connections.append(psycopg.connect(db, **kwargs))
        return connections[-1]

    yield factory
    for conn in connections:
        conn.close()


@pytest.fixture(scope="session")
def pgbouncer_server(pg_cluster: Cluster) -> Iterator[PgBouncer]:
    """PgBouncer 1.18 in transaction mode in front of every database of the cluster (tests/pgbouncer.py)."""
    with running(pg_cluster, free_port()) as bouncer:
        yield bouncer


@pytest.fixture
def pgbouncer(db: str, pgbouncer_server: PgBouncer) -> str:
    """The URL of `db` through PgBouncer in transaction mode."""
    return pgbouncer_server.url(conninfo_to_dict(db)["dbname"])


@pytest.fixture(scope="session")
def pgtap_connection(pg_cluster: Cluster, template_db: str) -> Iterator[psycopg.Connection[Any]]:
    """Overrides pytest-pgtap's: its connection to `pgtap`, a copy of the template.

    pytest-pgtap skips every file when this yields None; it never does.
    """
    with psycopg.connect(_clone(pg_cluster, template_db, "pgtap"), autocommit=False) as conn:
        yield conn


# What pgTAP itself prints: test lines, diagnostics, the plan, a bail-out.
_TAP_OUTPUT = re.compile(r"(not )?ok\b|#|1\.\.\d+$|Bail out!")


class _Runner(Runner):
    """pytest-pgtap's runner, keeping only the rows pgTAP printed.

    A pgTAP file is a script: statements that are not tests, like a call to a
    void helper (`SELECT tests.catalog();`) or a setup query, return rows too.
    pg_prove ignores them; pytest-pgtap 0.4.0 parses them as TAP: it fails on
    a NULL, and takes a row such as `1234` or `12.500000` for a plan.
    """

    def run(self, query: Query) -> list[str]:
        return [line for line in super().run(query) if isinstance(line, str) and _TAP_OUTPUT.match(line)]


@pytest.fixture(scope="session")
def _pgtap_runner(pgtap_connection: psycopg.Connection[Any]) -> Runner:
    """Overrides pytest-pgtap's (a private fixture of pytest-pgtap 0.4.0, pinned in pyproject.toml)."""
    return _Runner(pgtap_connection)


@pytest.fixture(scope="session")
def cron_db(pg_cluster: Cluster, template_db: str) -> str:
    """The URL of a migrated database named as cron.database_name, with pg_cron.

    Shared by the session: tests using it must clean up the jobs they schedule.
    """
    url = _clone(pg_cluster, template_db, CRON_DATABASE)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create extension pg_cron")
    return url


def _clone(cluster: Cluster, template: str, name: str) -> str:
    database = sql.Identifier(name)
    _admin(cluster, sql.SQL("create database {} template {}").format(database, sql.Identifier(template)))
    for setting, value in TEST_DATABASE_SETTINGS.items():
        _admin(
            cluster,
            sql.SQL("alter database {} set {} = {}").format(
                database, sql.SQL(".").join(map(sql.Identifier, setting.split("."))), sql.Literal(value)
            ),
        )
    return cluster.url(name)


def _assert_reconciled(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("select to_regclass('credits.reconciliation')").fetchone() == (None,):
            return
        rows = conn.execute("select * from credits.reconciliation").fetchall()
    if rows:
        shown = "\n".join(map(str, rows[:10]))
        pytest.fail(f"credits.reconciliation has {len(rows)} rows after the test:\n{shown}", pytrace=False)


def _admin(cluster: Cluster, statement: sql.Composed) -> None:
    """Run one statement in the `postgres` database, outside any transaction."""
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(statement)
