"""README.md's snippets run as written and print what README.md shows (issue 17).

The README is read, not copied: every fenced block whose first line is a
shell command (`$ ...`) is a session, and a ```python block followed by a
plain block is a snippet and its output. They run in README order, as a new
user types them after `make run`, against one database named `pgcredits`
as `make run` leaves it: migrated, the example catalog loaded, the sample
account `demo_user` opened, the gateway serving with a token for
demo_user in `$TOKEN`.

- A session starting with `$ psql ...` is one psql session: that command
  line (its port made the test cluster's), fed the `pgcredits=# ` (or
  `pgcredits=> `) lines; each one's output is compared with the lines
  below it.
- Any other session is one bash process running the `$ ` lines (a line
  ending in `\\` continues), 127.0.0.1:8000 made the test gateway's and
  54329 the test cluster's; `.venv/bin/pgcredits` is the project's.
- A Python snippet runs with the project's Python, its URL's port made the
  test cluster's, and its output is compared with the block after it.

So that outputs can be compared, the database's clock is fixed
(`credits.now`, allowed by `credits.allow_clock_override` as in every test
database), which a session may still move (the month in the life does). The
roles `authenticated` and `service_role` are created first, as Supabase has
them. Output is compared line by line, trailing spaces aside. After a
deliberate change, rewrite README's outputs with

    UPDATE_README=1 .venv/bin/pytest tests/test_readme.py

and read the diff before committing it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import psycopg
import pytest
from psycopg import sql

from pgcredits.dev.cluster import Cluster, free_port
from pgcredits.dev.local import GATEWAY_ROLE, as_role, ensure_gateway_role
from pgcredits.migrate import db_dir
from tests.serving import wait_ready

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
UPDATE = os.environ.get("UPDATE_README") == "1"
DATABASE = "pgcredits"
CLOCK = "2026-11-21 15:02:35.037725+00"  # when `make run` opened demo_user, for this test
SECRET = "the development secret of tests/test_readme.py"
SUPABASE_ROLES = ("authenticated", "service_role")
README_ROLES = ("app",)  # the login role README creates
PROMPT = re.compile(r"^pgcredits=[#>] ")
MARK = "<<<readme step>>>"


@dataclass
class Step:
    """One command of a snippet and the README lines `[first, end)` that hold its output."""

    command: str
    expected: list[str]
    first: int
    end: int


@dataclass
class Snippet:
    kind: str  # psql, shell or python
    line: int  # where it starts in README.md, from 1
    steps: list[Step] = field(default_factory=list)
    connect: str = ""  # psql: the command line that opens the session


def fenced_blocks(lines: list[str]) -> Iterator[tuple[str, int, int]]:
    """(info string, first line of the content, end of the content) of every ``` block, indexes from 0."""
    index = 0
    while index < len(lines):
        if lines[index].startswith("```"):
            info = lines[index][3:].strip()
            end = index + 1
            while not lines[end].startswith("```"):
                end += 1
            yield info, index + 1, end
            index = end
        index += 1


def snippets(lines: list[str]) -> list[Snippet]:
    blocks = list(fenced_blocks(lines))
    found: list[Snippet] = []
    for number, (info, first, end) in enumerate(blocks):
        body = lines[first:end]
        if info == "python":
            following = blocks[number + 1] if number + 1 < len(blocks) else None
            assert following is not None and following[0] == "" and not any(
                line.strip() for line in lines[end + 1:following[1] - 1]
            ), f"README.md line {first}: a python snippet is followed by its output block"
            found.append(Snippet("python", first, [Step("\n".join(body), lines[following[1]:following[2]],
                                                        following[1], following[2])]))
        elif info in ("", "sh") and body and body[0].startswith("$ "):
            if body[0].startswith("$ psql "):
                found.append(_psql_session(body, first))
            else:
                found.append(_shell_session(body, first))
    return found


def _psql_session(body: list[str], first: int) -> Snippet:
    snippet = Snippet("psql", first, connect=body[0][2:])
    starts = [index for index, line in enumerate(body) if PROMPT.match(line)]
    assert starts and starts[0] == 1, f"README.md line {first}: a psql session is its commands at the prompt"
    for start, stop in zip(starts, [*starts[1:], len(body)], strict=True):
        snippet.steps.append(Step(PROMPT.sub("", body[start]), body[start + 1:stop], first + start + 1, first + stop))
    return snippet


def _shell_session(body: list[str], first: int) -> Snippet:
    snippet = Snippet("shell", first)
    index = 0
    while index < len(body):
        assert body[index].startswith("$ "), f"README.md line {first + index + 1}: expected a `$ ` command"
        command = [body[index][2:]]
        while command[-1].endswith("\\"):
            index += 1
            command.append(body[index])
        output_start = index + 1
        index = output_start
        while index < len(body) and not body[index].startswith("$ "):
            index += 1
        snippet.steps.append(Step("\n".join(command), body[output_start:index], first + output_start,
                                  first + index))
    return snippet


def _trimmed(output: list[str]) -> list[str]:
    """Lines as compared: trailing spaces and the blank lines a step ends with left out."""
    lines = [line.rstrip() for line in output]
    while lines and not lines[-1]:
        lines.pop()
    return lines


@dataclass
class Readme:
    """The database and gateway of `make run`, for this test."""

    cluster: Cluster
    gateway_port: int
    token: str

    def localize(self, text: str) -> str:
        return text.replace("127.0.0.1:8000", f"127.0.0.1:{self.gateway_port}").replace(
            "54329", str(self.cluster.port))

    def env(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
        return {**env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "TOKEN": self.token, "PGCREDITS_JWT_SECRET": SECRET,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}

    def run(self, snippet: Snippet) -> list[list[str]]:
        """What each step of the snippet printed."""
        if snippet.kind == "python":
            code = self.localize(snippet.steps[0].command)
            result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=self.env(), capture_output=True,
                                    text=True, timeout=120, check=False)
            assert (result.returncode, result.stderr) == (0, ""), f"README.md line {snippet.line}: {result.stderr}"
            return [result.stdout.splitlines()]
        if snippet.kind == "psql":
            psql = shutil.which("psql")
            assert psql is not None, "psql is not on PATH (Debian: apt-get install postgresql-client-15)"
            argv = shlex.split(self.localize(snippet.connect))
            command = [psql, "-X", *argv[1:]]
            script = "".join(f"\\echo '{MARK}'\n{step.command}\n" for step in snippet.steps)
        else:
            command = ["bash", "--noprofile", "--norc"]
            # A command may start a job in the background (&): the session waits for it at its end.
            script = "".join(f"echo '{MARK}'\n{self.localize(step.command)}\n" for step in snippet.steps) + "wait\n"
        result = subprocess.run(command, input=script, cwd=REPO, env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
        parts = result.stdout.split(MARK + "\n")
        assert parts[0] == "" and len(parts) == len(snippet.steps) + 1, (
            f"README.md line {snippet.line}: the session did not run step by step:\n{result.stdout}")
        return [part.splitlines() for part in parts[1:]]


@pytest.fixture
def readme(pg_cluster: Cluster, template_db: str) -> Iterator[Readme]:
    """The database `pgcredits` as `make run` leaves it, and the gateway serving it; dropped after the test."""
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("create database {} template {}").format(sql.Identifier(DATABASE),
                                                                        sql.Identifier(template_db)))
        for setting, value in (("credits.allow_clock_override", "on"), ("credits.now", CLOCK)):
            admin.execute(sql.SQL("alter database {} set {} = {}").format(
                sql.Identifier(DATABASE), sql.SQL(setting), sql.Literal(value)))
        for role in SUPABASE_ROLES:
            admin.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
    url = pg_cluster.url(DATABASE)
    gateway: subprocess.Popen[str] | None = None
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute((db_dir() / "catalog" / "example.sql").read_bytes())
            conn.execute("select credits.open_account('demo_user')")
        ensure_gateway_role(pg_cluster.url("postgres"))
        port = free_port()
        gateway = subprocess.Popen(
            [sys.executable, "-m", "pgcredits.cli", "serve", "--port", str(port)], cwd=REPO,
            env={**os.environ, "DATABASE_URL": as_role(url, GATEWAY_ROLE), "PGCREDITS_JWT_SECRET": SECRET},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        wait_ready(f"http://127.0.0.1:{port}", gateway)
        token = jwt.encode({"sub": "demo_user", "role": "credits_user", "exp": int(time.time()) + 3600}, SECRET,
                           algorithm="HS256")
        yield Readme(pg_cluster, port, token)
    finally:
        if gateway is not None:
            gateway.send_signal(signal.SIGINT)
            try:
                gateway.wait(15)
            except subprocess.TimeoutExpired:
                gateway.kill()
                gateway.wait()
        with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DATABASE)))
            for role in (*SUPABASE_ROLES, *README_ROLES):
                admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def test_the_readme_has_its_snippets() -> None:
    """The parser finds what README shows: guards against a test that would compare nothing."""
    kinds = [snippet.kind for snippet in snippets(README.read_text().splitlines())]
    assert kinds.count("psql") >= 5 and kinds.count("shell") >= 2 and kinds.count("python") == 1, kinds


def test_readme_snippets_print_what_the_readme_shows(readme: Readme) -> None:
    lines = README.read_text().splitlines()
    rewrites: list[tuple[int, int, list[str]]] = []
    differences: list[str] = []
    for snippet in snippets(lines):
        for step, printed in zip(snippet.steps, readme.run(snippet), strict=True):
            got = _trimmed(printed)
            if got != _trimmed(step.expected):
                differences.append(f"README.md line {step.first}: {step.command.splitlines()[0][:80]}\n"
                                   f"  README: {_trimmed(step.expected)}\n  prints: {got}")
                raw = printed[:len(printed) - _blank_after(printed)]  # as printed, trailing spaces kept
                rewrites.append((step.first, step.end, raw + [""] * _blank_after(step.expected)))
    if UPDATE and rewrites:
        for first, end, new in sorted(rewrites, reverse=True):
            lines[first:end] = new
        README.write_text("\n".join(lines) + "\n")
    assert differences == [], (
        "README's snippets no longer print what it shows; if the change is meant, rewrite it with "
        "UPDATE_README=1 and review the diff:\n" + "\n".join(differences))


def _blank_after(lines: list[str]) -> int:
    """How many blank lines end `lines` (README keeps that many after a step's output, before the next command)."""
    count = 0
    for line in reversed(lines):
        if line.strip():
            break
        count += 1
    return count
