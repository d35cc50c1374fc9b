"""What every benchmark shares: a fresh durable cluster, seeded; pgbench runs with latency percentiles; invariants."""

from __future__ import annotations

import math
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from pgcredits.dev.cluster import Cluster, _make_dir, free_port
from pgcredits.migrate import migrate

# PostgreSQL's defaults, durable commits, and room for the WAL of a long run.
SETTINGS = {"max_wal_size": "2GB", "synchronous_commit": "on"}
PGBENCH = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"

# The login roles benchmarks connect as, both members of credits_service, as a real backend would be. The second
# runs with credits.notify_balance_changed = off (docs/decisions.md, "Events"): events are still written to the
# outbox, only the NOTIFY of balance_changed is left out.
APP_ROLE = "bench_app"
QUIET_ROLE = "bench_quiet"

# One credit type, one feature costing 1, one plan with it; `accounts` accounts a1..aN with a large promo grant.
CATALOG_SETUP = """
select credits.upsert_credit_type('credits');
select credits.upsert_feature('call', 'credits', 1);
select credits.upsert_plan('bench');
select credits.set_plan_feature('bench', 'call');
select credits.open_account('a' || i, 'bench') from generate_series(1, %(accounts)s) i;
select credits.grant_credits('a' || i, 1000000000, 'promo') from generate_series(1, %(accounts)s) i;
do $$ begin
  if not exists (select from pg_roles where rolname = 'bench_app') then
    create role bench_app login in role credits_service;
  end if;
  if not exists (select from pg_roles where rolname = 'bench_quiet') then
    create role bench_quiet login in role credits_service;
  end if;
end $$;
alter role bench_quiet in database bench set credits.notify_balance_changed = off;
"""

# What must hold after every run: the three sums agree, no grant went below zero, no idempotency key twice.
INVARIANTS = {
    "reconciliation rows": "select count(*) from credits.reconciliation",
    "negative remainders": "select count(*) from credits_private.grants where remaining < 0 or held < 0",
    "negative balances": "select count(*) from credits_private.balances where balance < 0 or held < 0",
    "duplicate idempotency keys": """select count(*) from (select account_id, idempotency_key
        from credits_private.ledger_entries where idempotency_key is not null group by 1, 2 having count(*) > 1) d""",
}


class InvariantsBroken(SystemExit):
    """The ledger is inconsistent after a benchmark: its figures mean nothing, and the code has a bug."""


@dataclass(frozen=True)
class Run:
    """One pgbench run (or the median of several): throughput and latency in milliseconds."""

    tps: float
    avg_ms: float
    p99_ms: float
    transactions: int


def median_run(runs: Sequence[Run]) -> Run:
    """The median of each figure over repeated runs of one point (each figure on its own)."""
    return Run(
        statistics.median(r.tps for r in runs),
        statistics.median(r.avg_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        int(statistics.median(r.transactions for r in runs)),
    )


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of values already sorted ascending; 0 for none."""
    if not sorted_values:
        return 0.0
    rank = min(max(1, math.ceil(share * len(sorted_values))), len(sorted_values))
    return sorted_values[rank - 1]


@contextmanager
def bench_database(setup: str, clock_override: bool = False) -> Iterator[tuple[Cluster, str, Path]]:
    """A fresh cluster in a temporary folder with a migrated database `bench`, `setup` run in it.

    Yields the cluster, the database's URL and the folder (for pgbench scripts and logs); stops and deletes it
    all after.
    """
    base = Path(tempfile.mkdtemp(prefix="pgcredits-bench-"))
    _make_dir(base)
    cluster = Cluster(base / "data", base / "run", free_port(), "postgres", SETTINGS, remove_on_stop=base)
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


def write_script(folder: Path, name: str, text: str) -> Path:
    """A pgbench script file in `folder`, readable by whoever runs pgbench."""
    path = folder / f"{name}.sql"
    path.write_text(text)
    path.chmod(0o644)
    return path


def pgbench(
    cluster: Cluster,
    folder: Path,
    clients: int,
    seconds: int,
    user: str,
    script: Path | None = None,
    builtin: str | None = None,
    defines: Mapping[str, str | int] | None = None,
    database: str = "bench",
) -> Run:
    """Run pgbench (-M prepared) with a custom `script` or a `builtin` one; return its throughput and latencies.

    Average and p99 latency come from pgbench's per-transaction log (`--log`): every transaction's latency in
    microseconds, so p99 is exact, not estimated from aggregates. A failed transaction fails the run.
    """
    logs = Path(tempfile.mkdtemp(prefix="log-", dir=folder))
    command = [
        PGBENCH, "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
        "--log", f"--log-prefix={logs / 'tx'}",
        "-h", str(cluster.socket_dir), "-p", str(cluster.port), "-U", user,
    ]  # fmt: skip
    command += ["-f", str(script)] if script else ["-b", str(builtin)]
    for name, value in (defines or {}).items():
        command += ["-D", f"{name}={value}"]
    out = subprocess.run([*command, database], capture_output=True, text=True, check=False, cwd=logs)
    if out.returncode != 0:
        raise SystemExit(f"pgbench failed ({' '.join(command)}): {out.stderr.strip()[-2000:]}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
    if not tps:
        raise SystemExit(f"pgbench printed no tps: {out.stdout}")
    latencies = sorted(_logged_latencies(logs))
    shutil.rmtree(logs)
    if not latencies:
        raise SystemExit(f"pgbench ran no transaction in {seconds} s: {out.stdout}")
    return Run(float(tps.group(1)), statistics.fmean(latencies), percentile(latencies, 0.99), len(latencies))


def _logged_latencies(logs: Path) -> Iterator[float]:
    """Latencies in ms from pgbench's per-transaction logs: `client tx latency_us script epoch us [lag]`."""
    for log in logs.glob("tx*"):
        with log.open() as lines:
            for line in lines:
                fields = line.split()
                if fields[2] in ("failed", "skipped"):
                    raise SystemExit(f"pgbench logged a {fields[2]} transaction: {line.strip()}")
                yield int(fields[2]) / 1000


def invariants_hold(url: str, invariants: Mapping[str, str]) -> bool:
    """Print each invariant's count of offending rows; tell whether every count is 0."""
    held = True
    with psycopg.connect(url, autocommit=True) as conn:
        for name, query in invariants.items():
            row = conn.execute(query).fetchone()
            count = row[0] if row else 0
            print(f"invariant {name}: {count}", file=sys.stderr)
            held &= count == 0
    if not held:
        print("INVARIANTS BROKEN", file=sys.stderr)
    return held


def check_invariants(url: str, invariants: Mapping[str, str] = INVARIANTS) -> None:
    """Check the invariants after a run; stop the whole benchmark, loudly, when one is broken."""
    if not invariants_hold(url, invariants):
        raise InvariantsBroken("the ledger's invariants are broken after a benchmark run: see the counts above")


def as_role(url: str, role: str) -> str:
    """The same database URL, logging in as `role` (the bench cluster trusts local connections)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))
