"""Bring a database up to date: yoyo migrations first, then every function file.

The SQL is the repository's `db/` folder, which the wheel ships as the
package `pgcredits.sql` (`db_dir()` says which one is used).
`db/migrations/` owns state: yoyo SQL migrations `NNNN_name.sql`, each with a
`NNNN_name.rollback.sql` beside it. `db/functions/` owns behaviour: one
`CREATE OR REPLACE` per file, in bands (folders, db/README.md), all applied
on every migrate in order of their paths, in
one transaction that runs as `credits_owner` (the role that owns the schema).
Where the pg_cron extension is installed, migrate then installs or updates the
scheduled jobs (`credits.schedule_jobs()`), as the role it connected as.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from yoyo import get_backend, read_migrations
from yoyo.backends.base import DatabaseBackend
from yoyo.exceptions import LockTimeout
from yoyo.migrations import MigrationList

from pgcredits.models import CronJob

OWNER_ROLE = "credits_owner"

Report = Callable[[str], object]


class MigrateError(Exception):
    """A migration or a function file could not be applied."""


@dataclass(frozen=True)
class MigrateResult:
    applied: list[str]  # ids of the migrations applied, in order
    function_files: int
    jobs: list[str] = field(default_factory=list)  # the pg_cron jobs installed (none without pg_cron)


# Where the wheel puts db/ (pyproject.toml: the package pgcredits.sql); absent in a checkout.
PACKAGED_SQL = Path(__file__).resolve().parent / "sql"


def db_dir() -> Path:
    """The `db/` folder: PGCREDITS_DB_DIR, else the copy an installed wheel ships (`pgcredits/sql/`), else `db/`
    at the root of the repository (a checkout, or an editable install)."""
    if env := os.environ.get("PGCREDITS_DB_DIR"):
        return Path(env).resolve()
    if PACKAGED_SQL.is_dir():
        return PACKAGED_SQL
    return Path(__file__).resolve().parents[2] / "db"


def libpq_url(url: str) -> str:
    """A URL psycopg and libpq accept (`postgresql+psycopg://` becomes `postgresql://`)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def yoyo_url(url: str) -> str:
    """The URL for yoyo's psycopg 3 backend.

    yoyo parses URLs itself: it does not decode a percent-encoded host or
    database name. Every parameter goes in the query string instead, where yoyo
    hands it to psycopg as is.
    """
    try:
        params = conninfo_to_dict(libpq_url(url))
    except psycopg.ProgrammingError as err:
        raise MigrateError(f"invalid database URL: {describe(err)}") from None
    return "postgresql+psycopg://?" + urlencode({key: str(value) for key, value in params.items()})


def migrate(url: str, folder: Path | None = None, report: Report = lambda line: None) -> MigrateResult:
    """Apply the pending migrations, then every function file."""
    folder = folder or db_dir()
    applied = _run_migrations(
        url, folder, lambda backend, migrations: list(backend.to_apply(migrations)),
        DatabaseBackend.apply_one, "applied", "migration {} failed", report,
    )  # fmt: skip
    if not applied:
        report("no pending migration")
    files = function_files(folder)
    apply_function_files(url, files)
    report(f"applied {len(files)} function files")
    jobs = [job.job_name for job in schedule_jobs(url)] if has_pg_cron(url) else []
    if jobs:
        report(f"scheduled pg_cron jobs: {', '.join(jobs)}")
    return MigrateResult(applied, len(files), jobs)


def function_files(folder: Path | None = None) -> list[Path]:
    """Every function file of `db/functions/`, in the order they are applied: by path, so band by band."""
    functions = (folder or db_dir()) / "functions"
    return sorted(functions.rglob("*.sql"), key=lambda path: path.relative_to(functions).parts)


def has_pg_cron(url: str) -> bool:
    """Is the pg_cron extension installed in this database?"""
    try:
        with psycopg.connect(libpq_url(url)) as conn:
            return conn.execute("select from pg_catalog.pg_extension where extname = 'pg_cron'").fetchone() is not None
    except psycopg.Error as err:
        raise MigrateError(f"cannot connect: {describe(err)}") from None


def schedule_jobs(url: str) -> list[CronJob]:
    """Install or update the pg_cron jobs with credits.schedule_jobs(), as the role of `url`.

    pg_cron runs each job as the role that scheduled it. Raises MigrateError
    where pg_cron is not installed (the SQL function only raises a notice).
    """
    notices: list[str] = []
    try:
        with psycopg.connect(libpq_url(url), autocommit=True, row_factory=dict_row) as conn:
            conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
            rows = conn.execute("select * from credits.schedule_jobs()").fetchall()
    except psycopg.Error as err:
        raise MigrateError(f"scheduling the pg_cron jobs failed: {describe(err)}") from None
    if not rows:
        raise MigrateError(notices[0] if notices else "credits.schedule_jobs() scheduled no job")
    return [CronJob.model_validate(row) for row in rows]


def rollback(
    url: str, count: int | None = 1, folder: Path | None = None, report: Report = lambda line: None
) -> list[str]:
    """Roll back the newest `count` applied migrations (all of them when None); return their ids."""

    def newest(backend: DatabaseBackend, migrations: MigrationList) -> list[Any]:
        chosen = list(backend.to_rollback(migrations))
        return chosen if count is None else chosen[:count]

    return _run_migrations(
        url, folder or db_dir(), newest, DatabaseBackend.rollback_one, "rolled back", "rollback of {} failed", report
    )


def _run_migrations(
    url: str,
    folder: Path,
    choose: Callable[[DatabaseBackend, MigrationList], list[Any]],
    run: Callable[[DatabaseBackend, Any], object],
    done: str,
    failed: str,
    report: Report,
) -> list[str]:
    """Under yoyo's lock, `run` (apply or roll back) each migration `choose` picks; return their ids."""
    migrations = _read_migrations(folder)
    backend = _backend(url)
    ids: list[str] = []
    try:
        with backend.lock():
            for migration in choose(backend, migrations):
                try:
                    run(backend, migration)
                except psycopg.Error as err:
                    raise MigrateError(f"{failed.format(migration.id)}: {describe(err)}") from None
                ids.append(migration.id)
                report(f"{done} {migration.id}")
    except LockTimeout:
        raise MigrateError("another migrate holds yoyo's lock (table yoyo_lock)") from None
    finally:
        backend.connection.close()
    return ids


def apply_function_files(url: str, files: Sequence[Path]) -> None:
    """Run the files in one transaction, as the owner role; nothing is applied if one fails."""
    if not files:
        return
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(OWNER_ROLE)))
        for path in files:
            text = path.read_text()
            try:
                conn.execute(text.encode())
            except psycopg.Error as err:
                raise MigrateError(f"{path.name}{_line(text, err)}: {describe(err)}") from None


def describe(err: psycopg.Error) -> str:
    """One line saying what PostgreSQL (or libpq) refused."""
    diag = err.diag
    message = diag.message_primary or str(err).strip().splitlines()[0]
    if diag.sqlstate:
        message += f" ({diag.sqlstate})"
    if diag.context:
        message += f" [{diag.context.splitlines()[0]}]"
    return message


def _line(text: str, err: psycopg.Error) -> str:
    position = err.diag.statement_position
    return f":{text[: int(position)].count(chr(10)) + 1}" if position else ""


def _read_migrations(folder: Path) -> MigrationList:
    migrations_dir = folder / "migrations"
    if not migrations_dir.is_dir():
        raise MigrateError(f"no migrations folder at {migrations_dir} (set PGCREDITS_DB_DIR?)")
    return read_migrations(str(migrations_dir))


def _backend(url: str) -> DatabaseBackend:
    try:
        return get_backend(yoyo_url(url))
    except psycopg.Error as err:
        raise MigrateError(f"cannot connect: {describe(err)}") from None
