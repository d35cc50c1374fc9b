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

On a Citus coordinator (`migrate(..., citus=True)`, `pgcredits migrate --citus`,
or the citus extension found in the database), every difference lives in
`db/citus/` (db/citus/README.md): the roles are made first, so that Citus can
reach the workers as credits_owner; after the yoyo migrations the files of
`db/citus/layout/` distribute the tables by account_id (the catalog as
reference tables); the files of `db/citus/functions/` follow the function
files, in the same transaction, and delegate every per-account function to
the node holding its account. On Citus a file is sent one statement at a
time: Citus forwards the text of the statement it propagates to the workers.
"""

from __future__ import annotations

import os
import re
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
from pgcredits.sqltext import CALLER_ROLES

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


def migrate(
    url: str, folder: Path | None = None, report: Report = lambda line: None, citus: bool | None = None
) -> MigrateResult:
    """Apply the pending migrations, then every function file.

    `citus`: lay the schema out for Citus (db/citus/); None: when the citus extension is installed.
    """
    folder = folder or db_dir()
    citus = has_citus(url) if citus is None else citus
    if citus:
        if not has_citus(url):
            raise MigrateError("--citus: the citus extension is not installed in this database (CREATE EXTENSION citus)")
        citus_roles(url)
        report("citus: roles ready on every node")
    applied = _run_migrations(
        url, folder, lambda backend, migrations: list(backend.to_apply(migrations)),
        DatabaseBackend.apply_one, "applied", "migration {} failed", report,
    )  # fmt: skip
    if not applied:
        report("no pending migration")
    if citus:
        layout = citus_files(folder, "layout")
        apply_function_files(url, layout, citus=True)
        report(f"citus: applied {len(layout)} layout files")
    files = function_files(folder)
    extra = citus_files(folder, "functions") if citus else []
    apply_function_files(url, files + extra, citus=citus)
    report(f"applied {len(files)} function files" + (f" and {len(extra)} citus files" if citus else ""))
    jobs = [job.job_name for job in schedule_jobs(url)] if has_pg_cron(url) else []
    if jobs:
        report(f"scheduled pg_cron jobs: {', '.join(jobs)}")
    return MigrateResult(applied, len(files), jobs)


def function_files(folder: Path | None = None) -> list[Path]:
    """Every function file of `db/functions/`, in the order they are applied: by path, so band by band."""
    functions = (folder or db_dir()) / "functions"
    return sorted(functions.rglob("*.sql"), key=lambda path: path.relative_to(functions).parts)


def citus_files(folder: Path | None, part: str) -> list[Path]:
    """The files of `db/citus/<part>/` (layout, functions), in the order they are applied."""
    base = (folder or db_dir()) / "citus" / part
    if not base.is_dir():
        raise MigrateError(f"no folder {base}: the Citus layout is missing")
    return sorted(base.rglob("*.sql"), key=lambda path: path.relative_to(base).parts)


def has_citus(url: str) -> bool:
    """Is the citus extension installed in this database?"""
    return _has_extension(url, "citus")


def citus_roles(url: str) -> None:
    """On a Citus coordinator, before the migrations: the roles, each created by a statement of its own.

    Citus propagates CREATE ROLE and GRANT to the workers only as top-level
    statements, and it reaches the workers as the current user: inside the
    functions that is the owner, so credits_owner must be able to log in on
    every node (docs/scale-out.md says how to restrict who may).
    """
    try:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("set citus.create_object_propagation = 'immediate'")
            for role in (OWNER_ROLE, *CALLER_ROLES):
                exists = conn.execute("select rolcanlogin from pg_catalog.pg_roles where rolname = %s", (role,))
                row = exists.fetchone()
                login = sql.SQL("login" if role == OWNER_ROLE else "nologin")
                if row is None:
                    conn.execute(sql.SQL("create role {} {}").format(sql.Identifier(role), login))
                elif role == OWNER_ROLE and not row[0]:
                    conn.execute(sql.SQL("alter role {} login").format(sql.Identifier(role)))
            conn.execute("grant credits_service to credits_admin")
            conn.execute(sql.SQL("grant {} to current_user").format(sql.Identifier(OWNER_ROLE)))
            conn.execute(
                sql.SQL("grant create on database {} to {}").format(
                    sql.Identifier(conn.info.dbname), sql.Identifier(OWNER_ROLE)
                )
            )
    except psycopg.Error as err:
        raise MigrateError(f"citus: the roles could not be made: {describe(err)}") from None


def has_pg_cron(url: str) -> bool:
    """Is the pg_cron extension installed in this database?"""
    return _has_extension(url, "pg_cron")


def _has_extension(url: str, name: str) -> bool:
    try:
        with psycopg.connect(libpq_url(url)) as conn:
            found = conn.execute("select from pg_catalog.pg_extension where extname = %s", (name,)).fetchone()
            return found is not None
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


def apply_function_files(url: str, files: Sequence[Path], citus: bool = False) -> None:
    """Run the files in one transaction, as the owner role; nothing is applied if one fails.

    On Citus each statement is sent alone (Citus forwards a statement's text
    to the workers), with objects propagated at once and DDL on one
    connection per worker.
    """
    if not files:
        return
    with psycopg.connect(libpq_url(url)) as conn:
        if citus:
            conn.execute("set local citus.create_object_propagation = 'immediate'")
            conn.execute("set local citus.multi_shard_modify_mode = 'sequential'")
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(OWNER_ROLE)))
        for path in files:
            text = path.read_text()
            for offset, statement in split_statements(text) if citus else [(0, text)]:
                try:
                    conn.execute(statement.encode())
                except psycopg.Error as err:
                    raise MigrateError(f"{path.name}{_line(text, err, offset)}: {describe(err)}") from None


def split_statements(text: str) -> list[tuple[int, str]]:
    """The statements of a SQL file, each with its offset in the text: split at semicolons outside
    quotes, quoted identifiers, dollar-quoted bodies and comments."""
    statements: list[tuple[int, str]] = []
    start = i = 0
    while i < len(text):
        if text.startswith("--", i):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        elif text[i] in "'\"":
            end = text.find(text[i], i + 1)
            while end >= 0 and text.startswith(text[i], end + 1):  # a doubled quote inside
                end = text.find(text[i], end + 2)
            i = len(text) if end < 0 else end + 1
            continue
        elif text[i] == "$" and (tag := _DOLLAR_TAG.match(text, i)):
            i = _dollar_quote_end(text, tag.end(), tag.group())
            continue
        elif text[i] == ";":
            if text[start:i].strip():
                statements.append((start, text[start : i + 1]))
            start = i + 1
        i += 1
    if text[start:].strip() and _has_code(text[start:]):
        statements.append((start, text[start:]))
    return statements


_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


def _dollar_quote_end(text: str, i: int, tag: str) -> int:
    """Where the dollar-quoted string opened by `tag` before `i` ends, as PostgreSQL's lexer reads it:
    another `$name$` inside gives its last `$` back, which may open the closing tag (`$body$$`)."""
    while (i := text.find("$", i)) >= 0:
        token = _DOLLAR_TAG.match(text, i)
        if token is None:
            i += 1
        elif token.group() == tag:
            return token.end()
        else:
            i = token.end() - 1
    return len(text)


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


def describe(err: psycopg.Error) -> str:
    """One line saying what PostgreSQL (or libpq) refused."""
    diag = err.diag
    message = diag.message_primary or str(err).strip().splitlines()[0]
    if diag.sqlstate:
        message += f" ({diag.sqlstate})"
    if diag.context:
        message += f" [{diag.context.splitlines()[0]}]"
    return message


def _line(text: str, err: psycopg.Error, offset: int = 0) -> str:
    position = err.diag.statement_position
    return f":{text[: offset + int(position)].count(chr(10)) + 1}" if position else ""


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
