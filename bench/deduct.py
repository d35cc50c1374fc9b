"""Benchmark the hot paths (debits, retries, holds, reads) against bare references, side by side in one run.

    .venv/bin/python bench/deduct.py [--seconds 10] [--runs 3] [--clients 1,4,16] [--accounts 10000]

A fresh local cluster (defaults plus max_wal_size=2GB, synchronous_commit=on:
durable commits) in a temporary folder. pgbench custom scripts (-M prepared),
run as a login role that is a member of credits_service, as a real backend
would call:

- deduct_credits over `accounts` uniform accounts, with NOTIFY of
  balance_changed on (the default) and off (credits.notify_balance_changed);
- deduct_credits where 15 % of calls repeat one of the client's last 100
  idempotency keys (a replay: nothing is charged twice);
- reserve_credits then capture_hold (two transactions, as an app would);
- check_feature and get_balance (the read paths);
- deduct_credits on one hot account.

References, in the same run: a bare PL/pgSQL call doing a one-row
conditional UPDATE plus one INSERT (over uniform rows and over one hot row),
and pgbench's built-in simple-update (-N) on `pgbench -i` tables in the same
database. Every point is run `runs` times; ours and the references take turns
in each round, so all see the same (shared, drifting) machine; the median of
each figure is reported, with the ratio ours / bare reference. The ledger's
invariants are checked after every round. Speed is measured here, never
asserted in a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from common import APP_ROLE, CATALOG_SETUP, PGBENCH, QUIET_ROLE, Run, bench_database, check_invariants, median_run
from common import pgbench, write_script

ROOT = Path(__file__).resolve().parent.parent

REFERENCE_SETUP = """
create schema bench_ref;
create table bench_ref.accounts (id integer primary key, balance numeric(30,6) not null check (balance >= 0))
  with (fillfactor = 70);
create table bench_ref.history (id bigint generated always as identity primary key, account_id integer not null,
  amount numeric(30,6) not null, created_at timestamptz not null default now());
insert into bench_ref.accounts select i, 1000000000 from generate_series(1, %(accounts)s) i;
create function bench_ref.debit(account integer, cost numeric) returns boolean language plpgsql as $$
begin
  update bench_ref.accounts set balance = balance - cost where id = account and balance >= cost;
  if not found then return false; end if;
  insert into bench_ref.history (account_id, amount) values (account, -cost);
  return true;
end $$;
grant usage on schema bench_ref to bench_app;
grant select, insert, update on all tables in schema bench_ref to bench_app;
"""

# 15 % of calls reuse one of the client's last 100 keys (one it has issued); the account follows from the key, so a
# reused key comes with the same arguments and is a replay. `run` keeps keys of earlier runs apart.
RETRY_SCRIPT = r"""\set fresh case when random(1, 100) > 15 or :issued = 0 then 1 else 0 end
\set issued :issued + :fresh
\set k case when :fresh = 1 then :issued else :issued - random(0, least(:issued - 1, 99)) end
\set aid 1 + abs(hash(:k, :client_id + 1000 * :run)) % {accounts}
select * from credits.deduct_credits('a' || :aid, 'call',
  idempotency_key => 'r' || :run || '-' || :client_id || '-' || :k);
"""

UNIFORM = "\\set aid random(1, {accounts})\n"

# The anchor ledger, pgledger (in the anchors folder beside this repository, or PGLEDGER_SQL): 2 x `accounts`
# accounts, each payer transferring to its own payee, so that a uniform run contends as rarely as deduct_credits.
PGLEDGER_SQL = Path(os.environ.get("PGLEDGER_SQL", ROOT.parent / "shared" / "anchors" / "pgledger"
                                   / "pgledger-with-ulid.sql"))
PGLEDGER_SETUP = """
create table bench_ref.pgledger_pairs (n integer primary key, payer text not null, payee text not null);
insert into bench_ref.pgledger_pairs
select i, (select id from pgledger_create_account('payer ' || i, 'CRD', true, false)),
          (select id from pgledger_create_account('payee ' || i, 'CRD', false, true))
from generate_series(1, %(accounts)s) i;
grant select, insert, update on all tables in schema public to bench_app;
grant select on bench_ref.pgledger_pairs to bench_app;
"""


@dataclass(frozen=True)
class Side:
    """One workload: a pgbench script (or built-in), who runs it, and which bare reference it is compared with."""

    name: str
    shape: str  # "uniform" or "hot": the bare reference of the same shape is the denominator of its ratio
    user: str = APP_ROLE
    script: str | None = None
    builtin: str | None = None
    kind: str = "write"  # "write", "read" or "reference"


BARE = "bare UPDATE+INSERT (PL/pgSQL)"
DEDUCT = "deduct_credits"
DEDUCT_QUIET = "deduct_credits, NOTIFY off"
HOT = "deduct_credits, one hot account"
HOT_QUIET = "deduct_credits, one hot account, NOTIFY off"
BARE_HOT = "bare UPDATE+INSERT, one hot row"
READS = ("check_feature", "get_balance")
PGLEDGER = "pgledger_create_transfer (anchor)"
SELECT_ONLY = "pgbench select-only (-S)"
HOLDS = "reserve_credits + capture_hold"

SIDES = [
    Side(DEDUCT, "uniform", script=UNIFORM + "select * from credits.deduct_credits('a' || :aid, 'call');\n"),
    Side(DEDUCT_QUIET, "uniform", QUIET_ROLE,
         script=UNIFORM + "select * from credits.deduct_credits('a' || :aid, 'call');\n"),
    Side(BARE, "uniform", script=UNIFORM + "select bench_ref.debit(:aid, 1);\n", kind="reference"),
    Side("pgbench simple-update (-N)", "uniform", builtin="simple-update", kind="reference"),
    Side("deduct_credits, 15 % retries", "uniform", script=RETRY_SCRIPT),
    Side(PGLEDGER, "uniform", script=UNIFORM + "select t.id from bench_ref.pgledger_pairs p, "
         "pgledger_create_transfer(p.payer, p.payee, 1) t where p.n = :aid;\n", kind="reference"),
    Side(SELECT_ONLY, "uniform", builtin="select-only", kind="reference"),
    Side(HOLDS, "uniform", script=UNIFORM
         + "select hold_id from credits.reserve_credits('a' || :aid, 'call') \\gset\n"
         + "select * from credits.capture_hold(:hold_id);\n"),
    Side("check_feature", "uniform", script=UNIFORM + "select * from credits.check_feature('a' || :aid, 'call');\n",
         kind="read"),
    Side("get_balance", "uniform", script=UNIFORM + "select * from credits.get_balance('a' || :aid);\n", kind="read"),
    Side(HOT, "hot", script="select * from credits.deduct_credits('a1', 'call');\n"),
    Side(HOT_QUIET, "hot", QUIET_ROLE, script="select * from credits.deduct_credits('a1', 'call');\n"),
    Side(BARE_HOT, "hot", script="select bench_ref.debit(1, 1);\n", kind="reference"),
]  # fmt: skip
REFERENCE_OF = {"uniform": BARE, "hot": BARE_HOT}


def run(seconds: int, runs: int, clients: list[int], accounts: int) -> dict[str, Any]:
    """Run every side at every client count, `runs` rounds; return the medians as rows of plain data."""
    setup = CATALOG_SETUP % {"accounts": accounts} + REFERENCE_SETUP % {"accounts": accounts}
    sides = SIDES
    if PGLEDGER_SQL.is_file():
        setup += PGLEDGER_SQL.read_text() + PGLEDGER_SETUP % {"accounts": accounts}
    else:
        print(f"pgledger is not measured: no {PGLEDGER_SQL} (set PGLEDGER_SQL to its pgledger-with-ulid.sql)",
              file=sys.stderr)
        sides = [side for side in SIDES if side.name != PGLEDGER]
    with bench_database(setup) as (cluster, url, base):
        _init_simple_update(cluster.socket_dir, cluster.port, url)
        scripts = {s.name: write_script(base, f"side{i}", s.script.format(accounts=accounts))
                   for i, s in enumerate(sides) if s.script}  # fmt: skip
        measured: dict[tuple[str, int], list[Run]] = {}
        round_no = 0
        for n in clients:
            for _ in range(runs):
                round_no += 1
                for side in sides:
                    result = pgbench(cluster, base, n, seconds, side.user, scripts.get(side.name), side.builtin,
                                     {"run": round_no, "issued": 0})  # fmt: skip
                    measured.setdefault((side.name, n), []).append(result)
                    print(f"round {round_no}: {side.name:45} {n:3} clients {result.tps:9.0f} tps "
                          f"avg {result.avg_ms:6.2f} ms p99 {result.p99_ms:6.2f} ms", file=sys.stderr)
                check_invariants(url)
    rows = []
    for side in sides:
        for n in clients:
            median = median_run(measured[(side.name, n)])
            reference = median_run(measured[(REFERENCE_OF[side.shape], n)])
            rows.append({"name": side.name, "shape": side.shape, "kind": side.kind, "clients": n, **asdict(median),
                         "ratio": median.tps / reference.tps})  # fmt: skip
    return {"seconds": seconds, "runs": runs, "accounts": accounts, "clients": clients, "rows": rows}


def _init_simple_update(socket_dir: Path, port: int, url: str) -> None:
    """pgbench's own tables (scale 1: 100,000 rows) in the bench database, usable by the benchmark's role."""
    out = subprocess.run([PGBENCH, "-i", "-q", "-s", "1", "-h", str(socket_dir), "-p", str(port), "-U", "postgres",
                          "bench"], capture_output=True, text=True, check=False, cwd="/")  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"pgbench -i failed: {out.stderr.strip()}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("grant select, insert, update on pgbench_accounts, pgbench_branches, pgbench_tellers, "
                     f"pgbench_history to {APP_ROLE}")  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    """The table of medians: absolute figures and the ratio to the bare reference of the same shape."""
    lines = [
        f"pgbench -M prepared, {result['seconds']} s per run, median of {result['runs']} runs, "
        f"{result['accounts']:,} accounts (uniform) or one account (hot).",
        "",
        "| workload | clients | tps | avg latency ms | p99 latency ms | ratio to bare reference |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(f"| {row['name']} | {row['clients']} | {row['tps']:,.0f} | {row['avg_ms']:.2f} | "
                     f"{row['p99_ms']:.2f} | {row['ratio']:.2f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each pgbench run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each point (the median is reported)")
    parser.add_argument("--clients", default="1,4,16", help="comma-separated client counts")
    parser.add_argument("--accounts", type=int, default=10000, help="accounts for the uniform workloads")
    args = parser.parse_args()
    result = run(args.seconds, args.runs, [int(c) for c in args.clients.split(",")], args.accounts)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
