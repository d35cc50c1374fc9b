"""PgBouncer in transaction mode in front of a test cluster, to prove code works behind it.

`running(cluster, port)` starts Debian's `/usr/sbin/pgbouncer` (1.18) with a
generated ini and auth file in a temporary folder, listening on 127.0.0.1:`port`,
forwarding every database of the cluster; it yields a `PgBouncer` whose
`url(dbname)` connects through it, and stops it at the end.

Transaction mode is the one that breaks session state: consecutive
transactions of one client connection may run on different server
connections (`server_round_robin` makes that likely as soon as the pool holds
several), so named prepared statements and session-level settings do not
survive. Authentication is `trust`, as on the cluster itself (the user must
still be listed in the auth file): test use only. PgBouncer refuses to run as
root, so as root it is started with `-u postgres`, like the cluster's server.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

from pgcredits.dev.cluster import SUPERUSER, Cluster, _make_dir, _server_user

PGBOUNCER = Path("/usr/sbin/pgbouncer")
START_TIMEOUT = 30.0  # seconds to wait for PgBouncer to accept connections


class PgBouncerError(Exception):
    """PgBouncer could not be started."""


@dataclass(frozen=True)
class PgBouncer:
    """A running PgBouncer on 127.0.0.1:`port`, in transaction mode, in front of a cluster."""

    port: int
    folder: Path

    @property
    def log_file(self) -> Path:
        return self.folder / "pgbouncer.log"

    def url(self, dbname: str, user: str = SUPERUSER) -> str:
        """A libpq URL to `dbname` of the cluster, as `user` (the superuser by default), through PgBouncer."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"


def ini(cluster: Cluster, port: int, folder: Path) -> str:
    """The pgbouncer.ini: every database of the cluster, transaction pooling, trust, loopback only."""
    return f"""\
[databases]
* = host={cluster.socket_dir} port={cluster.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
admin_users = {SUPERUSER}
pool_mode = transaction
default_pool_size = 4
server_round_robin = 1
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
"""


@contextmanager
def running(cluster: Cluster, port: int, users: tuple[str, ...] = ()) -> Iterator[PgBouncer]:
    """Start PgBouncer in front of `cluster` on `port`, wait until it accepts connections, stop it at the end.

    `users`: login roles besides the superuser that may connect through it.
    """
    if not PGBOUNCER.exists():
        raise PgBouncerError(f"{PGBOUNCER} not found: install Debian's pgbouncer package (make deps)")
    folder = Path(tempfile.mkdtemp(prefix="pgcredits-pgbouncer-"))
    _make_dir(folder)  # PgBouncer writes its log and pid file here as the server's OS user
    bouncer = PgBouncer(port, folder)
    (folder / "pgbouncer.ini").write_text(ini(cluster, port, folder))
    (folder / "users.txt").write_text("".join(f'"{user}" ""\n' for user in (SUPERUSER, *users)))
    user = _server_user()
    command = [str(PGBOUNCER), *(["-u", user.pw_name] if user else []), str(folder / "pgbouncer.ini")]
    process = subprocess.Popen(command, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_until_ready(bouncer, process)
        yield bouncer
    finally:
        process.terminate()  # SIGTERM: immediate shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_ready(bouncer: PgBouncer, process: subprocess.Popen[bytes]) -> None:
    """Connect through PgBouncer until a query answers; fail with its log if it exits or never answers."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise PgBouncerError(f"pgbouncer exited with {process.returncode}: {output.strip() or _log(bouncer)}")
        try:
            with psycopg.connect(bouncer.url("postgres"), autocommit=True, connect_timeout=2) as probe:
                probe.execute("select 1")
            return
        except psycopg.OperationalError as error:
            if time.monotonic() > deadline:
                raise PgBouncerError(f"pgbouncer did not accept connections on port {bouncer.port}: {error}; "
                                     f"log: {_log(bouncer)}") from error
            time.sleep(0.1)


def _log(bouncer: PgBouncer) -> str:
    try:
        return bouncer.log_file.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"
