"""Prove that reorganising the pgTAP files lost no assertion.

    .venv/bin/python db/tests/count_assertions.py [--base REV]

Runs the pgTAP files twice on a throwaway cluster: those of commit REV (read
with `git show REV:db/tests/...`, default a19c1b6, the commit before the
split of issue 12) against a template built with REV's helpers.sql, and those
of the working tree (db/tests/**/test*.sql) against one built with today's
helpers.sql. Both templates are migrated from the working tree's db/, as
conftest.py builds its template. What each file prints is its TAP output;
each `ok N - description` line is one assertion.

It fails (exit status 1) when
  * a description printed by REV's files is printed fewer times by the new
    ones (an assertion dropped or renamed),
  * the new files print fewer assertions in all,
  * any file, old or new, fails an assertion or runs other than its plan,
  * a new throws_ok checks no message (a NULL or missing third argument).
It prints the counts per file, and the throws_ok calls of both sides: how
many check the message. It reads the SQL text for that last count, splitting
each call into its arguments (quotes, dollar quotes and parentheses), so a
`throws_ok(sql, errcode, NULL, description)` or `throws_ok(sql, errcode)` is
one that checks no message.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from conftest import _TAP_OUTPUT, TEST_DATABASE_SETTINGS  # noqa: E402  (the rules the pytest run uses)
from pgcredits.dev.cluster import Cluster, free_port  # noqa: E402
from pgcredits.migrate import migrate  # noqa: E402

DEFAULT_BASE = "a19c1b6"
TESTS = Path("db/tests")
_RESULT = re.compile(r"(not )?ok (\d+)(?: - (.*))?$")
_PLAN = re.compile(r"1\.\.(\d+)$")


@dataclass
class FileRun:
    """What one pgTAP file printed."""

    name: str
    planned: int | None = None
    descriptions: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass
class ThrowsCount:
    throws_ok: int = 0
    with_message: int = 0
    throws_like: int = 0  # throws_like, throws_ilike, throws_matching, throws_imatching
    without_message: list[str] = field(default_factory=list)  # "file: description" of those that check none


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=DEFAULT_BASE, help=f"the commit to compare with (default {DEFAULT_BASE})")
    args = parser.parse_args(argv)

    old_files = {path: git_show(args.base, path) for path in git_test_files(args.base)}
    old_helpers = git_show(args.base, str(TESTS / "helpers.sql"))
    new_files = {
        str(path.relative_to(ROOT)): path.read_text() for path in sorted((ROOT / TESTS).rglob("test*.sql"))
    }
    new_helpers = (ROOT / TESTS / "helpers.sql").read_text()

    cluster = Cluster.throwaway(port=free_port(), cron_database="pgcredits_cron")
    try:
        cluster.init()
        cluster.start()
        old_runs = run_files(cluster, "old", old_helpers, old_files)
        new_runs = run_files(cluster, "new", new_helpers, new_files)
    finally:
        cluster.stop()

    problems: list[str] = []
    for side, runs in (("old", old_runs), ("new", new_runs)):
        for run in runs:
            if run.planned != len(run.descriptions):
                problems.append(f"{side} {run.name}: planned {run.planned}, ran {len(run.descriptions)}")
            problems.extend(f"{side} {run.name}: not ok - {d}" for d in run.failed)

    old_count = Counter(d for run in old_runs for d in run.descriptions)
    new_count = Counter(d for run in new_runs for d in run.descriptions)
    where: dict[str, set[str]] = {}
    for run in new_runs:
        for d in run.descriptions:
            where.setdefault(d, set()).add(run.name)
    missing = {d: n - new_count[d] for d, n in old_count.items() if new_count[d] < n}
    problems.extend(f"missing ({n} of {old_count[d]}): {d}" for d, n in sorted(missing.items()))
    in_files = Counter(d for run in old_runs for d in set(run.descriptions))
    old_total, new_total = sum(old_count.values()), sum(new_count.values())
    if new_total < old_total:
        problems.append(f"fewer assertions: {new_total} < {old_total}")

    old_throws = count_throws(old_files)
    new_throws = count_throws(new_files)
    problems.extend(f"throws_ok without a message: {d}" for d in new_throws.without_message)

    print(f"old ({args.base}): {len(old_runs)} files, {old_total} assertions, {len(old_count)} distinct descriptions")
    for run in old_runs:
        # where its own descriptions went (not those, like "credits.reconciliation is empty", of several files)
        moved = sorted({name for d in run.descriptions if in_files[d] == 1 for name in where.get(d, ())})
        print(f"  {run.name}: {len(run.descriptions)} -> {', '.join(moved)}")
    print(f"new (working tree): {len(new_runs)} files, {new_total} assertions, {len(new_count)} distinct descriptions")
    for folder, n in sorted(Counter(str(Path(run.name).parent) for run in new_runs).items()):
        total = sum(len(run.descriptions) for run in new_runs if str(Path(run.name).parent) == folder)
        print(f"  {folder}/: {n} files, {total} assertions")
    added = sorted(set(new_count) - set(old_count))
    print(f"old descriptions all printed again: {'yes' if not missing else 'NO'}; new descriptions: {len(added)}")
    for d in added:
        print(f"  + {d}  ({', '.join(sorted(where[d]))})")
    for side, counted in (("old", old_throws), ("new", new_throws)):
        print(
            f"{side}: throws_ok {counted.throws_ok}, checking the message {counted.with_message};"
            f" throws_like/matching {counted.throws_like}"
        )
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 1 if problems else 0


def git_test_files(rev: str) -> list[str]:
    listing = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", rev, str(TESTS)],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    return [path for path in listing if Path(path).name.startswith("test") and path.endswith(".sql")]


def git_show(rev: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True, capture_output=True, text=True
    ).stdout


def run_files(cluster: Cluster, side: str, helpers: str, files: dict[str, str]) -> list[FileRun]:
    """Each file on one copy of a template holding pgTAP and `helpers`, as conftest.py runs them."""
    template, copy = f"count_{side}_template", f"count_{side}"
    admin(cluster, sql.SQL("create database {}").format(sql.Identifier(template)))
    with contextlib.redirect_stdout(io.StringIO()):  # yoyo prints the rows of a migration's SELECTs
        migrate(cluster.url(template))
    with psycopg.connect(cluster.url(template)) as conn:
        conn.execute("create extension pgtap")
        conn.execute(helpers.encode())
    admin(cluster, sql.SQL("create database {} template {}").format(sql.Identifier(copy), sql.Identifier(template)))
    for setting, value in TEST_DATABASE_SETTINGS.items():
        name = sql.SQL(".").join(map(sql.Identifier, setting.split(".")))
        admin(cluster, sql.SQL("alter database {} set {} = {}").format(sql.Identifier(copy), name, sql.Literal(value)))
    runs = []
    with psycopg.connect(cluster.url(copy)) as conn:
        for name, text in files.items():
            runs.append(parse_tap(name, run_file(conn, text)))
    return runs


def run_file(conn: psycopg.Connection, text: str) -> list[str]:
    lines: list[str] = []
    with conn.transaction():
        cur = conn.cursor()
        cur.execute(text.encode())
        while True:
            if cur.pgresult is not None and cur.description is not None:
                lines.extend(row[0] for row in cur.fetchall() if len(row) == 1 and isinstance(row[0], str))
            if not cur.nextset():
                break
    return [line for line in lines if _TAP_OUTPUT.match(line)]


def parse_tap(name: str, lines: Iterable[str]) -> FileRun:
    run = FileRun(name)
    for line in lines:
        if plan := _PLAN.match(line):
            run.planned = int(plan[1])
        elif result := _RESULT.match(line):
            description = result[3] or ""
            run.descriptions.append(description)
            if result[1]:
                run.failed.append(description)
    return run


def admin(cluster: Cluster, statement: sql.Composed) -> None:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(statement)


# --- throws_ok, read from the SQL text ---------------------------------------------------

_CALL = re.compile(r"\b(throws_ok|throws_like|throws_ilike|throws_matching|throws_imatching)\s*\(", re.IGNORECASE)
_DOLLAR = re.compile(r"\$([A-Za-z_]\w*)?\$")


def count_throws(files: dict[str, str]) -> ThrowsCount:
    counted = ThrowsCount()
    for name, text in files.items():
        text = strip_comments(text)
        for call in _CALL.finditer(text):
            args = call_arguments(text, call.end())
            if call[1].lower() != "throws_ok":
                counted.throws_like += 1
                continue
            counted.throws_ok += 1
            # throws_ok(sql, errcode[, errmsg[, description]]), or throws_ok(sql, errmsg[, description])
            # when the second argument is not a 5-character errcode.
            if len(args) >= 2 and re.fullmatch(r"'[0-9A-Z]{5}'", args[1]):
                message = args[2] if len(args) >= 3 else None
            else:
                message = args[1] if len(args) >= 2 else None
            if message is None or message.strip().upper() == "NULL":
                counted.without_message.append(f"{name}: {args[-1] if args else '?'}")
            else:
                counted.with_message += 1
    return counted


def strip_comments(text: str) -> str:
    """The text with `-- ...` comments blanked, outside quotes and dollar quotes."""
    out, i = [], 0
    while i < len(text):
        end = skip_literal(text, i)
        if end > i:
            out.append(text[i:end])
            i = end
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = len(text) if j < 0 else j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def skip_literal(text: str, i: int) -> int:
    """The end of the quoted string or dollar-quoted string starting at i (i itself when none does)."""
    if text[i] == "'":
        j = i + 1
        while j < len(text):
            if text[j] == "'":
                if text.startswith("''", j):
                    j += 2
                    continue
                return j + 1
            j += 1
        return len(text)
    if text[i] == "$" and (tag := _DOLLAR.match(text, i)):
        close = text.find(tag[0], tag.end())
        return len(text) if close < 0 else close + len(tag[0])
    return i


def call_arguments(text: str, start: int) -> list[str]:
    """The top-level arguments of the call whose '(' ends just before `start`."""
    args, depth, i, begin = [], 0, start, start
    while i < len(text):
        end = skip_literal(text, i)
        if end > i:
            i = end
            continue
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                args.append(text[begin:i].strip())
                return args
            depth -= 1
        elif char == "," and depth == 0:
            args.append(text[begin:i].strip())
            begin = i + 1
        i += 1
    return args


if __name__ == "__main__":
    sys.exit(main())
