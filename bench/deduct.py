"""Benchmark deduct_credits against a bare reference, side by side in one run.

    .venv/bin/python bench/deduct.py [--seconds 10] [--clients 1,4,16] [--accounts 10000]

A fresh local cluster (defaults plus max_wal_size=2GB, synchronous_commit=on:
durable commits) in a temporary folder. Workloads, run with pgbench custom
scripts (-M prepared) as a login role that is a member of credits_service,
as a real backend would call:

- ours:      select * from credits.deduct_credits(account, 'call')
- reference: a bare PL/pgSQL call doing a one-row conditional UPDATE of a
             balance plus one INSERT into a history table

over uniform accounts and over one hot account, at each client count. Ours
and the reference alternate, so both see the same machine. Prints absolute
figures and the ratio ours / reference; checks the ledger's invariants after.
Speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from common import bench_database, invariants_hold

from pgcredits.cluster import Cluster
APP_ROLE = "bench_app"

SETUP = """
select credits.upsert_credit_type('credits');
select credits.upsert_feature('call', 'credits', 1);
select credits.upsert_plan('bench');
select credits.set_plan_feature('bench', 'call');
select credits.open_account('a' || i, 'bench') from generate_series(1, %(accounts)s) i;
select credits.grant_credits('a' || i, 1000000000, 'promo') from generate_series(1, %(accounts)s) i;

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
do $$ begin
  if not exists (select from pg_roles where rolname = 'bench_app') then
    create role bench_app login in role credits_service;
  end if;
end $$;
grant usage on schema bench_ref to bench_app;
grant select, insert, update on all tables in schema bench_ref to bench_app;
"""

SCRIPTS = {
    ("ours", "uniform"): "\\set aid random(1, {accounts})\nselect * from credits.deduct_credits('a' || :aid, 'call');\n",
    ("reference", "uniform"): "\\set aid random(1, {accounts})\nselect bench_ref.debit(:aid, 1);\n",
    ("ours", "hot"): "select * from credits.deduct_credits('a1', 'call');\n",
    ("reference", "hot"): "select bench_ref.debit(1, 1);\n",
}

INVARIANTS = {
    "reconciliation rows": "select count(*) from credits.reconciliation",
    "negative remainders": "select count(*) from credits_private.grants where remaining < 0 or held < 0",
    "duplicate idempotency keys": """select count(*) from (select account_id, idempotency_key from credits_private.ledger_entries
        where idempotency_key is not null group by 1, 2 having count(*) > 1) d""",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each pgbench run")
    parser.add_argument("--clients", default="1,4,16", help="comma-separated client counts")
    parser.add_argument("--accounts", type=int, default=10000, help="accounts for the uniform workload")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    pgbench = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"

    with bench_database(SETUP % {"accounts": args.accounts}) as (cluster, url, base):
        scripts = {}
        for key, text in SCRIPTS.items():
            path = base / f"{key[0]}_{key[1]}.sql"
            path.write_text(text.format(accounts=args.accounts))
            path.chmod(0o644)
            scripts[key] = path

        rows = []
        for workload in ("uniform", "hot"):
            for n in clients:
                result = {}
                for side in ("ours", "reference"):
                    result[side] = _pgbench(pgbench, cluster, scripts[(side, workload)], n, args.seconds)
                rows.append((workload, n, result["ours"], result["reference"]))
                ours, ref = result["ours"], result["reference"]
                print(f"{workload:8} {n:3} clients: ours {ours[0]:9.0f} tps ({ours[1]:.2f} ms), "
                      f"reference {ref[0]:9.0f} tps ({ref[1]:.2f} ms), ratio {ours[0] / ref[0]:.2f}",
                      file=sys.stderr)

        print("\n| workload | clients | deduct_credits tps | avg latency ms | reference tps | avg latency ms | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for workload, n, ours, ref in rows:
            print(f"| {workload} | {n} | {ours[0]:.0f} | {ours[1]:.2f} | {ref[0]:.0f} | {ref[1]:.2f} | {ours[0] / ref[0]:.2f} |")

        return 0 if invariants_hold(url, INVARIANTS) else 1


def _pgbench(pgbench: str, cluster: Cluster, script: Path, clients: int, seconds: int) -> tuple[float, float]:
    """Run pgbench; return (tps, average latency in ms)."""
    command = [pgbench, "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
               "-T", str(seconds), "-f", str(script), "-h", str(cluster.socket_dir), "-p", str(cluster.port),
               "-U", APP_ROLE, "bench"]
    out = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
    if out.returncode != 0:
        raise SystemExit(f"pgbench failed: {out.stderr.strip()}")
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", out.stdout).group(1))
    return tps, latency


if __name__ == "__main__":
    sys.exit(main())
