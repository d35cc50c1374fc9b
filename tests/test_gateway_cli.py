"""`pgcredits serve` and `pgcredits up` ending with the gateway, run as the commands a developer types."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest

from pgcredits.cluster import Cluster, free_port
from pgcredits.gateway.local import GATEWAY_ROLE, as_role, dev_secret, ensure_gateway_role
from pgcredits.migrate import db_dir

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def command() -> Iterator[list[subprocess.Popen[str]]]:
    """Started `pgcredits` processes, interrupted (then killed) after the test."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _pgcredits(started: list[subprocess.Popen[str]], *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-m", "pgcredits.cli", *args], env={**os.environ, **env},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    started.append(process)
    return process


def _wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"pgcredits exited with {process.returncode}:\n{process.stdout.read() if process.stdout else ''}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail("the gateway never became ready")


def test_serve_answers_and_stops_on_ctrl_c(pg_cluster: Cluster, db: str, command: list[subprocess.Popen[str]]) -> None:
    ensure_gateway_role(pg_cluster.url("postgres"))
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select tests.catalog()")
        conn.execute("select credits.open_account('alice')")
    port = free_port()
    secret = "the secret of this test, long enough for HS256"
    process = _pgcredits(command, "serve", "--port", str(port),
                         env={"DATABASE_URL": as_role(db, GATEWAY_ROLE), "PGCREDITS_JWT_SECRET": secret})
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, process)
    token = jwt.encode({"sub": "alice"}, secret, algorithm="HS256")
    response = httpx.get(f"{url}/rpc/get_balance", params={"account_id": "alice"},
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert {row["credit_type"] for row in response.json()} == {"credits", "analysis"}
    process.send_signal(signal.SIGINT)
    assert process.wait(15) == 0


def test_serve_with_workers_spreads_connections_and_stops_them_all(pg_cluster: Cluster, db: str,
                                                                   command: list[subprocess.Popen[str]]) -> None:
    """`serve --workers 2`: two processes, each its own socket (SO_REUSEPORT), pools and LISTEN connection; new
    connections reach both; Ctrl-C stops both."""
    ensure_gateway_role(pg_cluster.url("postgres"))
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select tests.catalog()")
        conn.execute("select credits.open_account('alice')")
    port = free_port()
    secret = "the secret of this test, long enough for HS256"
    process = _pgcredits(command, "serve", "--port", str(port), "--workers", "2", "--pool-size", "2",
                         env={"DATABASE_URL": as_role(db, GATEWAY_ROLE), "PGCREDITS_JWT_SECRET": secret})
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, process)
    token = jwt.encode({"sub": "alice"}, secret, algorithm="HS256")

    def listeners() -> set[int]:
        """The backends of the workers' LISTEN connections: one per worker once it has started."""
        with psycopg.connect(db, autocommit=True) as conn:
            rows = conn.execute("select pid from pg_stat_activity where usename = %s and application_name = "
                                "'pgcredits-gateway-listen'", [GATEWAY_ROLE]).fetchall()
        return {row[0] for row in rows}

    deadline = time.monotonic() + 30
    while len(listeners()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(listeners()) == 2, "each worker listens on its own connection"
    children = [int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
    workers = [pid for pid in children if _sockets(pid)]  # not multiprocessing's helper process, if any

    def sockets() -> dict[int, int]:
        return {pid: len(_sockets(pid)) for pid in workers}

    before = sockets()
    held = []
    for _ in range(20):  # 20 keep-alive connections held open: the kernel spreads them over both sockets
        conn = socket.create_connection(("127.0.0.1", port), timeout=10)
        conn.sendall(f"GET /rpc/get_balance?account_id=alice HTTP/1.1\r\nHost: x\r\n"
                     f"Authorization: Bearer {token}\r\n\r\n".encode())
        assert conn.recv(65536).startswith(b"HTTP/1.1 200"), "a worker did not answer"
        held.append(conn)
    after = sockets()
    for conn in held:
        conn.close()
    gained = {pid: after[pid] - before[pid] for pid in workers}
    assert len(workers) == 2 and all(count > 0 for count in gained.values()), gained
    process.send_signal(signal.SIGINT)
    assert process.wait(20) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), pid


def _sockets(pid: int) -> list[str]:
    """The sockets a process holds open."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:"):
            found.append(target)
    return found


# A login role, not inheriting, no superuser, a member of exactly the four caller roles.
GATEWAY_SHAPE = (True, False, False, ["credits_admin", "credits_auditor", "credits_service", "credits_user"])


def _role(url: str, role: str) -> tuple[bool, bool, bool, list[str]] | None:
    """Whether `role` can log in, inherits, is a superuser, and the roles it is a member of."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select r.rolcanlogin, r.rolinherit, r.rolsuper, array_agg(g.rolname::text order by g.rolname)"
            " from pg_roles r join pg_auth_members m on m.member = r.oid join pg_roles g on g.oid = m.roleid"
            " where r.rolname = %s group by 1, 2, 3",
            [role],
        ).fetchone()


def test_ensure_gateway_role_is_idempotent_and_grants_only_the_four(pg_cluster: Cluster, template_db: str) -> None:
    """Run twice, as every `pgcredits up` does (the template's migration created the four roles)."""
    ensure_gateway_role(pg_cluster.url("postgres"), "pgcredits_gateway_idempotent")
    ensure_gateway_role(pg_cluster.url("postgres"), "pgcredits_gateway_idempotent")
    assert _role(pg_cluster.url("postgres"), "pgcredits_gateway_idempotent") == GATEWAY_SHAPE


def test_dev_secret_is_created_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    first = dev_secret(tmp_path / ".pgcredits")
    assert len(first) >= 32
    assert stat.S_IMODE((tmp_path / ".pgcredits" / "gateway_jwt_secret").stat().st_mode) == 0o600
    assert dev_secret(tmp_path / ".pgcredits") == first


def test_up_ends_with_the_gateway_serving(tmp_path: Path, command: list[subprocess.Popen[str]]) -> None:
    """`pgcredits up` in a fresh project folder: cluster, migration, catalog, then a working sample token."""
    shutil.copytree(db_dir(), tmp_path / "db")
    env = {"PGCREDITS_DB_DIR": str(tmp_path / "db"), "PGCREDITS_PORT": str(free_port()),
           "PGCREDITS_GATEWAY_PORT": str(free_port())}
    cluster = Cluster.in_project(tmp_path, int(env["PGCREDITS_PORT"]), cron_database="pgcredits")
    process = _pgcredits(command, "up", env=env)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "serving until Ctrl-C":
            line = process.stdout.readline()
            assert line, "up ended before serving:\n" + "\n".join(lines)
            lines.append(line.rstrip("\n"))
        token = next(line.split("TOKEN=", 1)[1] for line in lines if "TOKEN=" in line)
        assert any(line.strip().startswith("curl -s -H") for line in lines)
        url = f"http://127.0.0.1:{env['PGCREDITS_GATEWAY_PORT']}"
        _wait_ready(url, process)
        response = httpx.get(f"{url}/rpc/get_balance", params={"account_id": "demo_user"},
                             headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert f"demo:         {url}/demo" in "\n".join(lines), "up prints the demo's URL (dev flag on)"
        demo = httpx.get(f"{url}/demo")
        assert demo.status_code == 200 and "<credits-counter" in demo.text
        assert stat.S_IMODE((tmp_path / ".pgcredits" / "gateway_jwt_secret").stat().st_mode) == 0o600
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
    finally:
        cluster.remove_on_stop = cluster.data_dir.parent
        cluster.stop()


def test_the_docker_gateway_role_script_runs_twice(pg_cluster: Cluster, db: str) -> None:
    """docker/gateway_role.sql, as the compose service runs it: creates the role, then changes nothing but it."""
    script = REPO / "docker" / "gateway_role.sql"
    for _ in range(2):
        subprocess.run(["psql", db, "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1",
                        "--set", "gateway_password=it's secret", "--file", str(script)],
                       check=True, capture_output=True, text=True)
    assert _role(db, GATEWAY_ROLE) == GATEWAY_SHAPE
