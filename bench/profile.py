"""Where one call's time goes at the server: pg_stat_statements (track = all) over a pgbench run of it.

    .venv/bin/python bench/profile.py [--call deduct|get_balance|check_feature|reserve_capture|SQL]
                                      [--clients 1] [--seconds 8] [--accounts 1000]

A fresh durable cluster with pg_stat_statements preloaded and every nested statement tracked, the bench catalog
of common.py (`accounts` accounts with a large promo grant, feature `call` costing 1), then pgbench -M prepared
running the call as a member of credits_service. Prints, per call of the outer statement, the time of every
statement it ran (microseconds, nested statements included in their parent's), and what is left for PL/pgSQL
itself: function calls, assignments, plan cache checks. A profile for reading, not a benchmark: the numbers are
this machine's and drift with its load; compare the shares, before and after a change.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from common import APP_ROLE, CATALOG_SETUP, PGBENCH, SETTINGS, write_script

from pgcredits.dev.cluster import Cluster, _make_dir, free_port
from pgcredits.migrate import migrate

CALLS = {
    "deduct": "select * from credits.deduct_credits('a' || :aid, 'call');",
    "get_balance": "select * from credits.get_balance('a' || :aid);",
    "check_feature": "select * from credits.check_feature('a' || :aid, 'call');",
    "reserve_capture": "select hold_id from credits.reserve_credits('a' || :aid, 'call') \\gset\n"
                       "select * from credits.capture_hold(:hold_id);",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--call", default="deduct", help=f"one of {', '.join(CALLS)}, or a pgbench line of SQL")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--accounts", type=int, default=1000)
    args = parser.parse_args()
    call = CALLS.get(args.call, args.call)
    base = Path(tempfile.mkdtemp(prefix="pgcredits-profile-"))
    _make_dir(base)
    settings = {**SETTINGS, "shared_preload_libraries": "pg_cron,pg_stat_statements",
                "pg_stat_statements.track": "all", "pg_stat_statements.max": "10000"}
    cluster = Cluster(base / "data", base / "run", free_port(), "postgres", settings, remove_on_stop=base)
    try:
        cluster.init()
        cluster.start()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute("create database bench")
        url = cluster.url("bench")
        migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(CATALOG_SETUP % {"accounts": args.accounts})
            conn.execute("create extension pg_stat_statements")
            conn.execute("vacuum analyze")
            conn.execute("select pg_stat_statements_reset()")
        script = write_script(base, "call", f"\\set aid random(1, {args.accounts})\n{call}\n")
        out = subprocess.run([PGBENCH, "-n", "-M", "prepared", "-c", str(args.clients), "-j", str(args.clients),
                              "-T", str(args.seconds), "-f", str(script), "-h", str(cluster.socket_dir),
                              "-p", str(cluster.port), "-U", APP_ROLE, "bench"],
                             capture_output=True, text=True, check=True, cwd=base)  # fmt: skip
        tps = next(line for line in out.stdout.splitlines() if line.startswith("tps"))
        with psycopg.connect(url) as conn:
            rows = conn.execute("""
                select calls, total_exec_time, regexp_replace(query, '\\s+', ' ', 'g') as query
                from pg_stat_statements
                where query not like '%pg_stat_statements%' and query not in ('BEGIN', 'COMMIT')
                order by total_exec_time desc limit 25""").fetchall()
        outer = [r for r in rows if r[2].startswith("select") and "credits." in r[2].split(" from ")[-1][:40]]
        calls = max(r[0] for r in outer) if outer else max(r[0] for r in rows)
        print(f"{args.call}: {tps}; {calls:,} calls; microseconds per call (nested statements are in their parents)")
        print()
        print("| us per call | calls per call | statement |")
        print("|---:|---:|---|")
        for n, total, query in rows:
            print(f"| {total / calls * 1000:.1f} | {n / calls:.2f} | `{query[:110]}` |")
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
