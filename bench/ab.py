"""Two versions of db/ side by side on one cluster: deduct_credits through each, alternating, same machine.

    .venv/bin/python bench/ab.py BEFORE_DB_DIR [AFTER_DB_DIR] [--seconds 5] [--runs 3] [--clients 1,16]

BEFORE_DB_DIR is a `db/` folder of another checkout (`git worktree add /tmp/before <rev>`); AFTER_DB_DIR is
this checkout's `db/` by default. Each database is migrated from its folder and seeded alike; pgbench
(-M prepared) runs deduct_credits over uniform accounts on one, then the other, `runs` times per client count,
and the median of each is reported with the ratio after / before. For a change that must not slow the hot path
(issue 12); speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import psycopg
from common import CATALOG_SETUP, SETTINGS, check_invariants, pgbench, write_script

from pgcredits.dev.cluster import Cluster, _make_dir, free_port
from pgcredits.migrate import db_dir, migrate

SCRIPT = "\\set aid random(1, {accounts})\nselect * from credits.deduct_credits('a' || :aid, 'call');\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path, nargs="?", default=db_dir())
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", default="1,16")
    parser.add_argument("--accounts", type=int, default=2000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pgcredits-ab-"))
    _make_dir(base)
    cluster = Cluster(base / "data", base / "run", free_port(), "postgres", SETTINGS, remove_on_stop=base)
    try:
        cluster.init()
        cluster.start()
        urls = {}
        for name, folder in (("before", args.before), ("after", args.after)):
            with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
                conn.execute(f"create database {name}")
            urls[name] = cluster.url(name)
            migrate(urls[name], folder.resolve())
            with psycopg.connect(urls[name], autocommit=True) as conn:
                conn.execute(CATALOG_SETUP.replace("in database bench", f"in database {name}") % {
                    "accounts": args.accounts})
                conn.execute("vacuum analyze")
        script = write_script(base, "deduct", SCRIPT.format(accounts=args.accounts))
        print("| clients | before tps | after tps | after / before |")
        print("|---:|---:|---:|---:|")
        for clients in (int(c) for c in args.clients.split(",")):
            tps: dict[str, list[float]] = {"before": [], "after": []}
            for _ in range(args.runs):
                for name in ("before", "after"):
                    run = pgbench(cluster, base, clients, args.seconds, "bench_app", script=script,
                                  database=name)
                    tps[name].append(run.tps)
            before, after = (statistics.median(tps[n]) for n in ("before", "after"))
            print(f"| {clients} | {before:,.0f} | {after:,.0f} | {after / before:.2f} |", flush=True)
        for url in urls.values():
            check_invariants(url)
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
