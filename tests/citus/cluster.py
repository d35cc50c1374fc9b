"""A throwaway Citus cluster on this machine: a coordinator and two workers, each a PostgreSQL 15 cluster.

The server binaries are the project-local overlay that tests/citus/build_citus.sh builds in
.citus/pg/ (PostgreSQL 15 with Citus installed beside it); `make test-citus` runs that first.
The nodes listen on free loopback ports, trust local connections (pgcredits.dev.cluster), and are
deleted when stopped. Used by tests/citus/conftest.py and bench/citus.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from pgcredits.dev.cluster import Cluster, free_port

ROOT = Path(__file__).resolve().parents[2]
CITUS_DIR = Path(os.environ.get("CITUS_DIR", ROOT / ".citus"))
DATABASE = "pgcredits"
# Citus first in shared_preload_libraries, as it requires; no pg_cron on these nodes.
NODE_SETTINGS = {
    "shared_preload_libraries": "citus",
    "max_connections": "200",
    "max_prepared_transactions": "200",
    # Triggers on distributed tables (the ledger's append-only triggers, the balance events): see db/citus/.
    "citus.enable_unsafe_triggers": "on",
    # Test databases let a session set credits.now to travel in time (docs/contract.md, Time).
    "credits.allow_clock_override": "on",
}


class CitusMissing(Exception):
    """The Citus build is not there: run tests/citus/build_citus.sh (make test-citus does)."""


def citus_bindir() -> Path:
    """The bin folder of the overlay build_citus.sh made, where citus.so is installed beside the server."""
    found = sorted(CITUS_DIR.glob("pg/lib/postgresql/*/bin/postgres"))
    lib = found[0].parent.parent / "lib" / "citus.so" if found else None
    if not found or lib is None or not lib.exists() or not list((CITUS_DIR / "pg").glob(".built-*")):
        raise CitusMissing(f"no Citus build in {CITUS_DIR}/pg: run tests/citus/build_citus.sh (make test-citus does)")
    return found[0].parent


@dataclass
class CitusCluster:
    coordinator: Cluster
    workers: list[Cluster]

    def url(self, node: Cluster | None = None, dbname: str = DATABASE) -> str:
        return (node or self.coordinator).url(dbname)

    @property
    def nodes(self) -> list[Cluster]:
        return [self.coordinator, *self.workers]


@contextmanager
def running(workers: int = 2, settings: dict[str, str] | None = None) -> Iterator[CitusCluster]:
    """Start a coordinator and `workers` workers with the database `pgcredits`, Citus created and the workers
    registered; stop and delete them all afterwards. `settings` are added to NODE_SETTINGS (bench/citus.py
    makes the nodes durable)."""
    os.environ["PGCREDITS_PG_BINDIR"] = str(citus_bindir())
    settings = {**NODE_SETTINGS, **(settings or {})}
    nodes = [Cluster.throwaway(port=free_port(), cron_database="postgres", settings=settings)
             for _ in range(workers + 1)]  # fmt: skip
    try:
        for node in nodes:
            node.init()
            node.start()
            with psycopg.connect(node.url("postgres"), autocommit=True) as conn:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
            with psycopg.connect(node.url(DATABASE), autocommit=True) as conn:
                conn.execute("create extension citus")
        cluster = CitusCluster(nodes[0], nodes[1:])
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("select citus_set_coordinator_host('127.0.0.1', %s)", (cluster.coordinator.port,))
            for worker in cluster.workers:
                conn.execute("select citus_add_node('127.0.0.1', %s)", (worker.port,))
        yield cluster
    finally:
        for node in nodes:
            node.stop()
