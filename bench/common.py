"""What every benchmark shares: a fresh durable cluster, seeded, and the invariants checked after."""

from __future__ import annotations

import socket
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psycopg

from pgcredits.cluster import Cluster, _make_dir
from pgcredits.migrate import migrate

# PostgreSQL's defaults, durable commits, and room for the WAL of a long run.
SETTINGS = {"max_wal_size": "2GB", "synchronous_commit": "on"}


@contextmanager
def bench_database(setup: str, clock_override: bool = False) -> Iterator[tuple[Cluster, str, Path]]:
    """A fresh cluster in a temporary folder with a migrated database `bench`, `setup` run in it.

    Yields the cluster, the database's URL and the folder (for pgbench scripts); stops and deletes it all after.
    """
    base = Path(tempfile.mkdtemp(prefix="pgcredits-bench-"))
    _make_dir(base)
    cluster = Cluster(base / "data", base / "run", _free_port(), "postgres", SETTINGS, remove_on_stop=base)
    try:
        cluster.init()
        cluster.start()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute("create database bench")
            if clock_override:
                conn.execute("alter database bench set credits.allow_clock_override = on")
        url = cluster.url("bench")
        migrate(url)
        print("seeding ...", file=sys.stderr)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(setup)
            conn.execute("vacuum analyze")
        yield cluster, url, base
    finally:
        cluster.stop()


def invariants_hold(url: str, invariants: Mapping[str, str]) -> bool:
    """Print each invariant's count of offending rows; tell whether every count is 0."""
    held = True
    with psycopg.connect(url, autocommit=True) as conn:
        for name, query in invariants.items():
            row = conn.execute(query).fetchone()
            count = row[0] if row else 0
            print(f"invariant {name}: {count}")
            held &= count == 0
    if not held:
        print("INVARIANTS BROKEN", file=sys.stderr)
    return held


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
