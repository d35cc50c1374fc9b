"""`pgcredits up` (what `make run` runs) a second time, and `pgcredits token`, as a developer types them.

Issue 17: a second `make run` while one serves ended in a traceback (the
gateway's port in use) and loaded the example catalog again over the user's
edits. It now says "already running" and changes nothing; after Ctrl-C
(which stops only the gateway: PostgreSQL keeps running), `up` serves
again and keeps the user's catalog. Every cluster and gateway here runs on
free ports in a temporary project folder, never on 54329 or 8000.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest

from pgcredits.dev.cluster import Cluster, free_port
from pgcredits.migrate import db_dir
from tests.serving import wait_ready

REPO = Path(__file__).resolve().parent.parent
SERVING = "serving until Ctrl-C"


class Project:
    """A fresh project folder (a copy of db/) whose `pgcredits up` uses free ports."""

    def __init__(self, root: Path) -> None:
        shutil.copytree(db_dir(), root / "db")
        self.root = root
        self.env = {**os.environ, "PGCREDITS_DB_DIR": str(root / "db"), "PGCREDITS_PORT": str(free_port()),
                    "PGCREDITS_GATEWAY_PORT": str(free_port())}
        self.env.pop("PGCREDITS_JWT_SECRET", None)
        self.cluster = Cluster.in_project(root, int(self.env["PGCREDITS_PORT"]), cron_database="pgcredits")
        self.gateway = f"http://127.0.0.1:{self.env['PGCREDITS_GATEWAY_PORT']}"
        self.started: list[subprocess.Popen[str]] = []

    def start(self) -> tuple[subprocess.Popen[str], list[str]]:
        """`pgcredits up` in the background, read until it serves: the process and what it printed."""
        process = subprocess.Popen([sys.executable, "-m", "pgcredits.cli", "up"], env=self.env, cwd=REPO,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.started.append(process)
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != SERVING:
            line = process.stdout.readline()
            assert line, "up ended before serving:\n" + "\n".join(lines)
            lines.append(line.rstrip("\n"))
        wait_ready(self.gateway, process)
        return process, lines

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`pgcredits ARGS` to its end."""
        return subprocess.run([sys.executable, "-m", "pgcredits.cli", *args], env=self.env, cwd=REPO,
                              capture_output=True, text=True, timeout=120, check=False)

    def stop(self, process: subprocess.Popen[str]) -> str:
        """Ctrl-C: what it printed after serving, once it ended (with status 0)."""
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
        assert process.returncode == 0, out
        return out

    def sql(self, query: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.cluster.url("pgcredits"), autocommit=True) as conn:
            cursor = conn.execute(query)
            return cursor.fetchall() if cursor.description else []


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    made = Project(tmp_path)
    try:
        yield made
    finally:
        for process in made.started:
            if process.poll() is None:
                process.kill()
                process.wait()
        made.cluster.remove_on_stop = made.cluster.data_dir.parent
        made.cluster.stop()


def test_a_second_up_says_already_running_and_keeps_the_catalog(project: Project) -> None:
    first, lines = project.start()
    assert "loaded example.sql" in lines
    project.sql("select credits.upsert_plan('free', signup_grant => '{\"credits\": 60}', description => 'mine')")

    second = project.run("up")
    assert (second.returncode, second.stderr) == (0, "")
    said = second.stdout.splitlines()
    assert said[0] == f"pgcredits is already running (pid {first.pid}); it stops with Ctrl-C where it runs."
    assert said[1:] == [
        f"psql:         psql --host {project.cluster.socket_dir} --port {project.cluster.port} "
        "--username postgres pgcredits",
        f"DATABASE_URL: {project.cluster.url('pgcredits')}",
        f"gateway:      {project.gateway}",
    ]
    assert project.sql("select description, signup_grant::text from credits.plans where code = 'free'") == [
        ("mine", '{"credits": 60}')]
    assert httpx.get(f"{project.gateway}/live").status_code == 200  # the first one still serves

    after = project.stop(first)
    assert after.splitlines()[-1] == (f"the gateway stopped; PostgreSQL keeps running on 127.0.0.1:"
                                      f"{project.cluster.port} until `.venv/bin/pgcredits down`")
    assert project.cluster.is_running()

    third, lines = project.start()  # after Ctrl-C: serves again, on the catalog as the user left it
    assert "loaded example.sql" not in lines
    assert "the database has a catalog: example.sql is loaded only into one without plans and features" in lines
    assert project.sql("select description from credits.plans where code = 'free'") == [("mine",)]
    project.stop(third)
    assert project.run("down").stdout == "stopped PostgreSQL\n"


def test_up_refuses_a_gateway_port_another_program_holds(project: Project) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(project.env["PGCREDITS_GATEWAY_PORT"])))
        squatter.listen()
        result = project.run("up")
    assert result.returncode == 1
    assert result.stderr == (f"pgcredits: error: port {project.env['PGCREDITS_GATEWAY_PORT']} is taken by another "
                             "program: set PGCREDITS_GATEWAY_PORT to a free one\n")
    assert "Traceback" not in result.stdout + result.stderr


def test_token_mints_development_tokens_the_gateway_takes(project: Project) -> None:
    process, _ = project.start()
    secret = (project.root / ".pgcredits" / "gateway_jwt_secret").read_text().strip()
    user = project.run("token", "--sub", "demo_user", "--role", "credits_user", "--ttl", "10m")
    assert (user.returncode, user.stderr) == (0, "")
    claims = jwt.decode(user.stdout.strip(), secret, algorithms=["HS256"])
    assert (claims["sub"], claims["role"]) == ("demo_user", "credits_user")
    assert 590 <= claims["exp"] - time.time() <= 600
    service = project.run("token", "--role", "credits_service").stdout.strip()
    for token, account, status in ((user.stdout.strip(), "demo_user", 200), (user.stdout.strip(), "u_42", 403),
                                   (service, "demo_user", 200)):
        response = httpx.get(f"{project.gateway}/rpc/get_balance", params={"account_id": account},
                             headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status, response.text
    refused = project.run("token", "--role", "credits_user")
    assert (refused.returncode, refused.stderr) == (
        1, "pgcredits: error: a credits_user token needs --sub, the account it acts for\n")
    assert project.run("token", "--sub", "x", "--ttl", "soon").returncode == 2  # argparse: a usage error
    project.stop(process)
