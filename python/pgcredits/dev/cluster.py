"""A local PostgreSQL 15 cluster, for development (`pgcredits up`) and tests.

The cluster trusts whoever reaches it, without a password: connections on its
own unix socket and on 127.0.0.1, nothing else. Any local OS user can
therefore connect as the `postgres` superuser. That suits a developer's machine
or a CI runner; never use such a cluster on a shared host or for real data.

PostgreSQL refuses to run as root. When we are root, the server and its tools
run as the `postgres` OS user (`runuser -u postgres --`) and the cluster's
folders belong to that user. As anyone else, they run as the current user.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "postgres"
SERVER_OS_USER = "postgres"  # who runs the server when we are root
DEBIAN_BINDIR = Path("/usr/lib/postgresql/15/bin")
SOCKET_PATH_LIMIT = 100  # a unix socket path holds at most 107 bytes
THROWAWAY_SETTINGS = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}
HBA = """\
# pgcredits development/test cluster: no password, local connections only.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
"""


class ClusterError(Exception):
    """The cluster could not be created, started or stopped."""


@dataclass
class Cluster:
    """A PostgreSQL cluster in `data_dir`, reached on 127.0.0.1:`port` and in `socket_dir`.

    `settings` are extra postgresql.conf settings; they may override the
    defaults (`shared_preload_libraries`, `cron.database_name`), not the
    addresses. When `remove_on_stop` is set, `stop()` deletes that folder.
    """

    data_dir: Path
    socket_dir: Path
    port: int
    cron_database: str = "postgres"
    settings: Mapping[str, str] = field(default_factory=dict)
    remove_on_stop: Path | None = None

    @classmethod
    def in_project(cls, root: Path, port: int, cron_database: str) -> Cluster:
        """The long-lived cluster of a project folder, kept in `<root>/.pgcredits/`."""
        base = root / ".pgcredits"
        if not _server_can_write(base):
            fallback = Path("/var/tmp") / f"pgcredits-{_digest(root)}"
            print(
                f"pgcredits: the {SERVER_OS_USER} OS user cannot reach {base}, so the cluster lives in {fallback}",
                file=sys.stderr,
            )
            _make_dir(fallback)
            base = fallback
        return cls(base / "data", _socket_dir(base / "run", port), port, cron_database)

    @classmethod
    def throwaway(cls, port: int, cron_database: str, settings: Mapping[str, str] | None = None) -> Cluster:
        """A fast, unsafe cluster in a temporary folder that `stop()` deletes."""
        base = Path(tempfile.mkdtemp(prefix="pgcredits-test-"))
        _make_dir(base)
        return cls(
            base / "data",
            _socket_dir(base / "run", port),
            port,
            cron_database,
            {**THROWAWAY_SETTINGS, **(settings or {})},
            remove_on_stop=base,
        )

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgresql.log"

    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def is_running(self) -> bool:
        return self._run("pg_ctl", "status", "--pgdata", str(self.data_dir), check=False).returncode == 0

    def init(self) -> bool:
        """Create the cluster unless it exists; tell whether it was created."""
        if self.is_initialized():
            return False
        _make_dir(self.data_dir.parent)
        self._run(
            "initdb",
            "--pgdata", str(self.data_dir),
            "--username", SUPERUSER,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-instructions",
            *(["--no-sync"] if self.remove_on_stop else []),
        )  # fmt: skip
        _write(self.data_dir / "pg_hba.conf", HBA)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'pgcredits.conf'\n")
        return True

    def server_settings(self) -> dict[str, str]:
        """What start() writes to pgcredits.conf (included by postgresql.conf)."""
        return {
            "shared_preload_libraries": "pg_cron",
            "cron.database_name": self.cron_database,
            **self.settings,
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
        }

    def start(self) -> bool:
        """Start the server unless it runs; tell whether it was started."""
        if self.is_running():
            return False
        if not self.is_initialized():
            raise ClusterError(f"there is no cluster in {self.data_dir}: init() it first")
        _make_dir(self.socket_dir)
        conf = "".join(f"{name} = {_quote(value)}\n" for name, value in self.server_settings().items())
        _write(self.data_dir / "pgcredits.conf", conf)
        log_start = self.log_file.stat().st_size if self.log_file.exists() else 0
        started = self._run(
            "pg_ctl", "start", "--pgdata", str(self.data_dir), "--log", str(self.log_file),
            "--wait", "--timeout", "60", "--silent",
            check=False,
        )  # fmt: skip
        if started.returncode != 0:
            reason = self._log_error(log_start) or _output(started)
            raise ClusterError(f"PostgreSQL did not start on port {self.port}: {reason} (log: {self.log_file})")
        return True

    def stop(self) -> bool:
        """Stop the server if it runs (and delete a throwaway cluster); tell whether it ran."""
        try:
            running = self.is_running()
            if running:
                self._run("pg_ctl", "stop", "--pgdata", str(self.data_dir), "--mode", "fast", "--wait", "--silent")
        finally:
            if self.remove_on_stop is not None:
                shutil.rmtree(self.remove_on_stop, ignore_errors=True)
        return running

    def url(self, dbname: str) -> str:
        """A libpq URL connecting as the superuser over 127.0.0.1."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"

    def psql_line(self, dbname: str) -> str:
        """A shell command line opening psql on the unix socket."""
        return shlex.join(
            ["psql", "--host", str(self.socket_dir), "--port", str(self.port), "--username", SUPERUSER, dbname]
        )

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(_bindir() / program), *args]
        if (user := _server_user()) is not None:
            command = ["runuser", "-u", user.pw_name, "--", *command]
        result = subprocess.run(command, cwd="/", capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise ClusterError(f"{program} {args[0]} failed: {_output(result)}")
        return result

    def _log_error(self, since: int) -> str:
        """The last error the server logged after byte `since` of its log."""
        try:
            with self.log_file.open("rb") as log:
                log.seek(since)
                lines = log.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        errors = [line for line in lines if any(level in line for level in ("FATAL", "PANIC", "ERROR"))]
        return (errors or lines or [""])[-1]


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stderr or result.stdout).strip().replace("\n", " ")


def _bindir() -> Path:
    """PGCREDITS_PG_BINDIR, else Debian's PostgreSQL 15 folder, else the folder of pg_ctl on PATH."""
    if env := os.environ.get("PGCREDITS_PG_BINDIR"):
        found: Path | None = Path(env)
    elif DEBIAN_BINDIR.is_dir():
        found = DEBIAN_BINDIR
    else:
        found = Path(pg_ctl).parent if (pg_ctl := shutil.which("pg_ctl")) else None
    if found is None or not (found / "initdb").exists():
        raise ClusterError(
            f"PostgreSQL 15 server binaries not found (looked in {found or DEBIAN_BINDIR}): "
            "run `make deps` or set PGCREDITS_PG_BINDIR"
        )
    return found


def _server_user() -> pwd.struct_passwd | None:
    """The OS user to run the server as, when we are root; None otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        raise ClusterError(f"running as root, but there is no {SERVER_OS_USER} OS user to run PostgreSQL as") from None


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (for throwaway clusters, PgBouncer, test servers)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _make_dir(path: Path) -> None:
    """Create a folder, owned by the server's OS user."""
    path.mkdir(parents=True, exist_ok=True)
    if (user := _server_user()) is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def _write(path: Path, text: str) -> None:
    """Write a file the server's OS user owns."""
    path.write_text(text)
    if (user := _server_user()) is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def _server_can_write(folder: Path) -> bool:
    """Create the folder and tell whether the server's OS user may write in it."""
    _make_dir(folder)
    if (user := _server_user()) is None:
        return True
    probe = ["runuser", "-u", user.pw_name, "--", "test", "-w", str(folder), "-a", "-x", str(folder)]
    return subprocess.run(probe, cwd="/", capture_output=True, check=False).returncode == 0


def _socket_dir(preferred: Path, port: int) -> Path:
    """`preferred`, unless the socket path would be too long: then a short folder in /tmp."""
    if len(f"{preferred}/.s.PGSQL.{port}") < SOCKET_PATH_LIMIT:
        return preferred
    return Path("/tmp") / f"pgcredits-{os.getuid()}-{_digest(preferred)}"


def _digest(path: Path) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()[:12]


def _quote(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
