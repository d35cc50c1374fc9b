"""The local ledger of `pgcredits up`, `down` and `token` (development only).

`up` creates (once) and starts a cluster in the project's `.pgcredits/`
(`pgcredits.dev.cluster`: it trusts local connections, no password), creates
the database `pgcredits` with pg_cron, migrates it, loads the example
catalog into a database without one, prints a sample call, and serves the
gateway on it until Ctrl-C (`pgcredits.dev.local`). While one `up` serves,
its lock in `.pgcredits/` makes a second one say so and change nothing.
`up` and `token` need the gateway's dependencies (`pgcredits[gateway]`).
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.pq.abc import PGresult

from pgcredits.dev.cluster import Cluster
from pgcredits.migrate import PACKAGED_SQL, MigrateError, db_dir, describe, migrate

DATABASE = "pgcredits"  # the database of `pgcredits up`, also pg_cron's
DEFAULT_PORT = 54329
SAMPLE_SETUP = "select credits.open_account('demo_user')"
SAMPLE_QUERY = "select * from credits.get_balance('demo_user')"
UP_LOCK = "up.lock"  # in .pgcredits/: held by the `pgcredits up` that serves, with what it serves written in it


class LocalError(Exception):
    """What `up`, `down` or `token` is asked cannot be done (a port taken, a bad PGCREDITS_PORT, no --sub)."""


def up(table: Callable[[PGresult], str]) -> None:
    """`pgcredits up`: the project's cluster started, migrated, with the example catalog and a sample call (laid
    out by `table`), then the gateway serving it until Ctrl-C (SPEC §6)."""
    from pgcredits.dev.local import DEFAULT_PORT as GATEWAY_PORT
    from pgcredits.dev.local import serve_locally
    from pgcredits.gateway.auth import GatewayConfigError

    state_dir = project_root() / ".pgcredits"
    with _serving_lock(state_dir) as running:
        if running is not None:
            # A second `make run` while one serves: say so, and touch nothing (not the user's catalog).
            print(f"pgcredits is already running (pid {running}); it stops with Ctrl-C where it runs.")
            print((state_dir / UP_LOCK).read_text().partition("\n")[2].rstrip())
            return
        port_text = os.environ.get("PGCREDITS_GATEWAY_PORT", str(GATEWAY_PORT))
        if port_text.isdigit() and not _port_is_free(int(port_text)):
            raise LocalError(f"port {port_text} is taken by another program: set PGCREDITS_GATEWAY_PORT to a free one")
        cluster = project_cluster()
        if cluster.init():
            print(f"created a PostgreSQL cluster in {cluster.data_dir}")
        else:
            print(f"reusing the PostgreSQL cluster in {cluster.data_dir}")
        if cluster.start():
            print(f"started PostgreSQL on 127.0.0.1:{cluster.port}")
        else:
            print("PostgreSQL is already running")
        _create_database(cluster)
        url = cluster.url(DATABASE)
        migrate(url, report=print)
        _load_catalog(url, db_dir() / "catalog" / "example.sql")
        print()
        print(f"psql:         {cluster.psql_line(DATABASE)}")
        print(f"DATABASE_URL: {url}")
        print()
        _sample_call(url, table)
        print()
        _write_lock(state_dir, f"psql:         {cluster.psql_line(DATABASE)}\n"
                               f"DATABASE_URL: {url}\n"
                               f"gateway:      http://127.0.0.1:{port_text}")
        try:
            serve_locally(url, state_dir)
        except GatewayConfigError as err:
            raise LocalError(str(err)) from None
        print(f"the gateway stopped; PostgreSQL keeps running on 127.0.0.1:{cluster.port} until "
              "`.venv/bin/pgcredits down`")


@contextmanager
def _serving_lock(state_dir: Path) -> Iterator[int | None]:
    """The lock of the `pgcredits up` that serves this project: yields None when this process holds it now, else
    the pid of the one that holds it. The kernel releases it when that process ends, however it ends."""
    state_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(state_dir / UP_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield _lock_holder(state_dir)
            return
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"pid: {os.getpid()}\n".encode())
        yield None
    finally:
        os.close(descriptor)


def _lock_holder(state_dir: Path) -> int:
    first = (state_dir / UP_LOCK).read_text().partition("\n")[0]
    return int(first.removeprefix("pid: ")) if first.startswith("pid: ") else 0


def _write_lock(state_dir: Path, serving: str) -> None:
    """What the serving `up` tells a second one: written in its lock file, below its pid."""
    path = state_dir / UP_LOCK
    path.write_text(f"pid: {os.getpid()}\n{serving}\n")


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def token(role: str, sub: str | None, ttl: int) -> str:
    """`pgcredits token`: a development JWT, signed with PGCREDITS_JWT_SECRET or the local secret of `up`."""
    import jwt

    from pgcredits.dev.local import dev_secret

    if role == "credits_user" and not sub:
        raise LocalError("a credits_user token needs --sub, the account it acts for")
    secret = os.environ.get("PGCREDITS_JWT_SECRET") or dev_secret(project_root() / ".pgcredits")
    claims: dict[str, object] = {"role": role, "exp": int(time.time()) + ttl}
    if sub:
        claims["sub"] = sub
    return jwt.encode(claims, secret, algorithm="HS256")


def down() -> None:
    """`pgcredits down`: stops the project's cluster."""
    cluster = project_cluster()
    print("stopped PostgreSQL" if cluster.stop() else "PostgreSQL is not running")


def project_cluster() -> Cluster:
    """The cluster of `pgcredits up` in the project's `.pgcredits/`, on PGCREDITS_PORT."""
    port = os.environ.get("PGCREDITS_PORT", str(DEFAULT_PORT))
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise LocalError(f"PGCREDITS_PORT must be a TCP port number, not {port!r}")
    return Cluster.in_project(project_root(), int(port), cron_database=DATABASE)


def project_root() -> Path:
    """The folder of `.pgcredits/`: the one holding `db/` (the repository, or where PGCREDITS_DB_DIR points); with
    the SQL an installed wheel ships, the current folder."""
    folder = db_dir()
    return Path.cwd() if folder == PACKAGED_SQL else folder.parent


def _create_database(cluster: Cluster) -> None:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", [DATABASE]).fetchone() is None:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
            print(f"created database {DATABASE}")
    # The cluster preloads pg_cron for this database (cron.database_name):
    # migrate then schedules the jobs.
    with psycopg.connect(cluster.url(DATABASE), autocommit=True) as conn:
        conn.execute("create extension if not exists pg_cron")


def _load_catalog(url: str, path: Path) -> None:
    """Run the example catalog as the superuser, in one transaction, into a database without a catalog yet."""
    if not path.exists():
        print(f"warning: {path} does not exist yet, no example catalog loaded", file=sys.stderr)
        return
    with psycopg.connect(url) as conn:
        if conn.execute("select exists (select from credits.plans) or exists (select from credits.features)"
                        ).fetchone() == (True,):
            print(f"the database has a catalog: {path.name} is loaded only into one without plans and features")
            return
        try:
            conn.execute(path.read_bytes())
        except psycopg.Error as err:
            raise MigrateError(f"{path.name}: {describe(err)}") from None
    print(f"loaded {path.name}")


def _sample_call(url: str, table: Callable[[PGresult], str]) -> None:
    print(f"{DATABASE}=# {SAMPLE_SETUP};")
    print(f"{DATABASE}=# {SAMPLE_QUERY};")
    try:
        with psycopg.connect(url) as conn:
            conn.execute(SAMPLE_SETUP)
            result = conn.execute(SAMPLE_QUERY).pgresult
    except psycopg.Error as err:
        print(f"the sample call failed: {describe(err)}")
        return
    if result is not None:
        print(table(result))
