"""Faults: the server killed under load, connections cut mid-call (issue 5 "Faults").

- Crash: workers debit with unique idempotency keys, each in an explicit
  transaction (the debit, then COMMIT). At a random moment every process
  of the server is killed with SIGKILL; the server restarts and recovers.
  Then every debit a client saw committed is in the ledger, none whose
  failure came before its COMMIT was sent is, the ones whose COMMIT got no
  answer are retried with their key and charged exactly once, and every
  invariant holds. `make test` kills 3 times; `make soak` (SOAK_KILLS,
  default there 25) many more.
- Retries: backends are terminated while workers debit; a worker that loses
  its connection reconnects and retries with the same key until it gets an
  answer. Every key is charged exactly once.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgcredits.dev.cluster import Cluster, free_port
from pgcredits.migrate import migrate

KILLS = int(os.environ.get("SOAK_KILLS", "3"))
WORKERS = 4
ACCOUNTS = [f"crash_{i}" for i in range(WORKERS)]
START_BALANCE = 1_000_000
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
DEDUCT = "select ok from credits.deduct_credits(%s, 'roast', idempotency_key => %s)"


@dataclass
class Outcomes:
    """What the clients saw, per idempotency key."""

    committed: set[str] = field(default_factory=set)  # COMMIT answered
    failed: set[str] = field(default_factory=set)  # the error came before COMMIT was sent
    unknown: dict[str, str] = field(default_factory=dict)  # COMMIT sent, no answer: key -> account
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def durable_cluster() -> Iterator[tuple[Cluster, str]]:
    """A cluster of its own (it is killed), durable as production is, with a migrated database."""
    cluster = Cluster.throwaway(port=free_port(), cron_database="postgres", settings=DURABLE)
    try:
        cluster.init()
        cluster.start()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute("create database crash")
        url = cluster.url("crash")
        migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("select credits.upsert_credit_type('credits')")
            conn.execute("select credits.upsert_feature('roast', 'credits', 1)")
            conn.execute("select credits.upsert_plan('empty')")
            conn.execute("select credits.set_plan_feature('empty', 'roast')")
            for account in ACCOUNTS:
                conn.execute("select credits.open_account(%s, 'empty')", (account,))
                conn.execute("select credits.grant_credits(%s, %s, 'promo')", (account, START_BALANCE))
        yield cluster, url
    finally:
        cluster.stop()


def _debit_until_the_server_dies(url: str, account: str, prefix: str, outcomes: Outcomes) -> None:
    n = 0
    try:
        conn = psycopg.connect(url)
    except psycopg.OperationalError:
        return
    with conn:
        while True:
            n += 1
            key = f"{prefix}-{n}"
            try:
                (ok,) = conn.execute(DEDUCT, (account, key)).fetchone()
                assert ok
            except psycopg.OperationalError:
                with outcomes.lock:
                    outcomes.failed.add(key)
                return
            try:
                conn.commit()
            except psycopg.OperationalError:
                with outcomes.lock:
                    outcomes.unknown[key] = account
                return
            with outcomes.lock:
                outcomes.committed.add(key)


def _kill_server(cluster: Cluster) -> None:
    """SIGKILL the postmaster and every one of its children, and wait until they are gone (reaped: pg_ctl
    and the next postmaster take a zombie's pid for a running server)."""
    postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == postmaster]
    victims = [postmaster, *children]
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in victims):
        assert time.monotonic() < deadline, "the killed server's processes did not exit"
        time.sleep(0.05)


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _check_invariants(url: str, outcomes: Outcomes) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        keys = {k for (k,) in conn.execute("select idempotency_key from credits.ledger where kind = 'debit'")}
        lost = outcomes.committed - keys
        assert not lost, f"{len(lost)} debits the client saw committed are not in the ledger: {sorted(lost)[:5]}"
        ghosts = outcomes.failed & keys
        assert not ghosts, f"debits that failed before COMMIT are in the ledger: {sorted(ghosts)[:5]}"
        # COMMIT sent, no answer: retrying with the key charges exactly once, whichever way it went.
        for key, account in outcomes.unknown.items():
            (ok,) = conn.execute(DEDUCT, (account, key)).fetchone()
            assert ok
        outcomes.committed |= outcomes.unknown.keys()
        outcomes.unknown.clear()
        assert conn.execute("select count(*) from credits.reconciliation").fetchone() == (0,)
        assert conn.execute("select count(*) from credits_private.grants where remaining < 0 or held < 0"
                            ).fetchone() == (0,)
        assert conn.execute("select count(*) from (select account_id, idempotency_key from credits.ledger"
                            " where idempotency_key is not null group by 1, 2 having count(*) > 1) d").fetchone() == (0,)
        debits = conn.execute("select count(*) from credits.ledger where kind = 'debit'").fetchone()[0]
        assert debits == len(outcomes.committed), "the ledger has debits no client asked for"
        total = conn.execute("select sum(available) from credits.balances").fetchone()[0]
        assert total == WORKERS * START_BALANCE - debits


def test_sigkill_under_load_loses_nothing_committed(durable_cluster: tuple[Cluster, str]) -> None:
    cluster, url = durable_cluster
    outcomes = Outcomes()
    rng = random.Random(os.environ.get("SOAK_SEED"))
    for kill in range(KILLS):
        workers = [threading.Thread(target=_debit_until_the_server_dies,
                                    args=(url, account, f"k{kill}w{i}", outcomes), daemon=True)
                   for i, account in enumerate(ACCOUNTS)]
        for worker in workers:
            worker.start()
        time.sleep(rng.uniform(0.3, 1.5))
        _kill_server(cluster)
        for worker in workers:
            worker.join(timeout=60)
            assert not worker.is_alive(), "a worker hung after the server died"
        cluster.start()  # crash recovery
        _check_invariants(url, outcomes)
    assert len(outcomes.committed) > KILLS * WORKERS, "too little load to prove anything"


def test_retries_after_cut_connections_charge_once(pg_cluster: Cluster, db: str) -> None:
    role = f"app_{secrets.token_hex(6)}"
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("create role {} login in role credits_service").format(sql.Identifier(role)))
    try:
        with psycopg.connect(db, autocommit=True) as setup:
            setup.execute("select tests.catalog()")
            setup.execute("select credits.upsert_plan('empty')")
            setup.execute("select credits.set_plan_feature('empty', 'roast')")
            setup.execute("select credits.open_account('cut', 'empty')")
            setup.execute("select credits.grant_credits('cut', 1000, 'promo')")
        calls, cuts = 40, [0]
        done = threading.Event()

        def worker(w: int) -> None:
            conn: psycopg.Connection[Any] | None = None
            for n in range(calls):
                key = f"w{w}-{n}"
                while True:  # until the call gets an answer
                    try:
                        conn = conn if conn and not conn.closed else psycopg.connect(db, user=role, autocommit=True)
                        (ok,) = conn.execute(DEDUCT, ("cut", key)).fetchone()
                        assert ok
                        break
                    except psycopg.OperationalError:
                        conn = None
            if conn:
                conn.close()

        def cutter() -> None:
            with psycopg.connect(db, autocommit=True) as killer:
                while not done.is_set():
                    (n,) = killer.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity"
                                          " where usename = %s and random() < 0.5", (role,)).fetchone()
                    cuts[0] += n
                    time.sleep(0.005)

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
        killer = threading.Thread(target=cutter)
        killer.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        killer.join()
        assert cuts[0] > 0, "no connection was cut"
        with psycopg.connect(db, autocommit=True) as conn:
            rows = conn.execute("select idempotency_key, count(*) from credits.ledger where account_id = 'cut'"
                                " and kind = 'debit' group by 1").fetchall()
            assert len(rows) == 4 * calls and all(n == 1 for _, n in rows)
            (available,) = conn.execute("select available from credits.get_balance('cut') where credit_type = 'credits'"
                                         ).fetchone()
            assert available == 1000 - 4 * calls
    finally:
        with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("select pg_terminate_backend(pid) from pg_stat_activity where usename = {}").format(
                sql.Literal(role)))
            admin.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
