"""Instructions per call at the server, counted by valgrind's callgrind: deterministic, whatever the machine's load.

    .venv/bin/python bench/instructions.py [--base REV] [--db DIR ...] [--call SQL] [--calls 200] [--setup SQL]
                                           [--per-transaction]
    .venv/bin/python bench/instructions.py --floors [--db DIR] [--calls 200]

For each db/ folder given (default: this repository's; `--base REV` puts revision REV's db/, read with `git
archive`, before it; or give an old checkout's db/ with --db), a fresh
cluster is migrated and seeded with the bench catalog of common.py (1,000 accounts with a large promo grant,
feature `call` costing 1), then stopped; `postgres --single` runs under callgrind twice as credits_service:
warm-up calls only, and warm-up plus `--calls` calls. The difference over `--calls` is the cost of one call with
every cache warm, planning, execution, triggers and commit of the loop's one transaction included; with
--per-transaction each call commits its own transaction (as a backend's calls do), so what PL/pgSQL sets up
once per transaction (its simple expressions' state) and the commit count in every call. Then the
instructions of the executor's parts named in PARTS, per call. Needs valgrind (apt-get install valgrind); a run
of the default takes about two minutes per folder.

`--floors` counts, on one cluster and each call in its own transaction, our hot calls beside the floors of
bench/deduct.py (the least a read or a debit can do under the contract's rules) and the bare references (the
bare UPDATE+INSERT, a one-row SELECT as pgbench -S makes): about three minutes.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from common import CATALOG_SETUP, SETTINGS
from deduct import FLOOR_SETUP, REFERENCE_SETUP

from pgcredits.dev.cluster import Cluster, _bindir, _make_dir, free_port
from pgcredits.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent
DEBIT = "perform credits.deduct_credits('a' || (i % 1000 + 1), 'call')"
WARM_UP = 20

# --floors: the bare references (readable by credits_service, the role the calls run as), the floors, and ours.
FLOORS_SETUP = (REFERENCE_SETUP % {"accounts": 1000}
                + "grant usage on schema bench_ref to credits_service;\n"
                + "grant select, insert, update on all tables in schema bench_ref to credits_service;\n"
                + FLOOR_SETUP)
ACCOUNT = "'a' || (i % 1000 + 1)"
FLOOR_CALLS = {
    "deduct_credits": DEBIT,
    "floor: account check + a debit's three rows": f"perform bench_floor.checked_debit({ACCOUNT})",
    "floor: a debit's three rows written": f"perform bench_floor.debit({ACCOUNT})",
    "bare UPDATE+INSERT (PL/pgSQL)": "perform bench_ref.debit(i % 1000 + 1, 1)",
    "get_balance": f"perform * from credits.get_balance({ACCOUNT})",
    "check_feature": f"perform * from credits.check_feature({ACCOUNT}, 'call')",
    "floor: account check + one balance row read": f"perform bench_floor.checked_read({ACCOUNT})",
    "floor: one balance row read": f"perform bench_floor.read({ACCOUNT})",
    "one-row SELECT (as pgbench -S)": "perform a.balance from bench_ref.accounts a where a.id = i % 1000 + 1",
}

# PostgreSQL functions (exported, so named without debug symbols) whose inclusive cost says where a call goes.
PARTS = {
    "ExecutorStart": "executor start: the plan state of every statement the call runs",
    "ExecBuildProjectionInfo": "  of which building projections (result rows, row variables)",
    "stringToNode": "  of which reading stored expressions (CHECK constraints) again",
    "ExecInitQual": "  of which preparing WHERE clauses (RLS policies included)",
    "AfterTriggerEndQuery": "the balance trigger (after statement)",
    "ExecInsertIndexTuples": "index entries of inserted and updated rows",
    "ExecutorEnd": "executor end",
    "jsonb_build_object": "jsonb built (draws, payloads)",
    "XLogInsert": "WAL records",
    "Async_Notify": "NOTIFY",
}


def prepared_cluster(db: Path, setup: str | None) -> tuple[Path, str]:
    """A stopped cluster migrated from `db` and seeded: its data directory and the database's name."""
    base = Path(tempfile.mkdtemp(prefix="pgcredits-instructions-"))
    _make_dir(base)
    cluster = Cluster(base / "data", base / "run", free_port(), "postgres", SETTINGS, remove_on_stop=None)
    cluster.init()
    cluster.start()
    try:
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute("create database bench")
        migrate(cluster.url("bench"), db)
        with psycopg.connect(cluster.url("bench"), autocommit=True) as conn:
            conn.execute(CATALOG_SETUP % {"accounts": 1000})
            if setup:
                conn.execute(setup)
            conn.execute("vacuum analyze")
    finally:
        cluster.stop()
    return base, "bench"


def callgrind(base: Path, database: str, call: str, calls: int) -> Path:
    """Run warm-up and `calls` calls in one single-user backend under callgrind; the profile's path."""
    loop = "set role credits_service;\ndo $$ begin for i in 1..{n} loop {call}; end loop; end $$;\n"
    script = loop.format(n=WARM_UP, call=call) + (loop.format(n=calls, call=call) if calls else "")
    out = base / f"callgrind.{calls}"
    subprocess.run(["runuser", "-u", "postgres", "--", "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                    str(_bindir() / "postgres"), "--single", "-D", str(base / "data"), "-c",
                    "shared_preload_libraries=", database],
                   input=script, capture_output=True, text=True, check=True)  # fmt: skip
    return out


def inclusive(profile: Path) -> dict[str, int]:
    """Instructions per function, callees included (callgrind_annotate --inclusive), by the function's name."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(profile)],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    found: dict[str, int] = {}
    for line in text.splitlines():
        match = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*?:(\w+)(?:'\d+)?\s*(?:\[|$)", line)
        if match and match.group(2) not in found:
            found[match.group(2)] = int(match.group(1).replace(",", ""))
    return found


def total(profile: Path) -> int:
    """All instructions of a profile."""
    text = subprocess.run(["callgrind_annotate", str(profile)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", text).group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="a git revision whose db/ is measured first, beside this tree's")
    parser.add_argument("--db", action="append", type=Path, help="a db/ folder (repeat to compare; default ours)")
    parser.add_argument("--call", default=DEBIT, help="one PL/pgSQL statement run per call (`i` is the loop index)")
    parser.add_argument("--calls", type=int, default=200, help="calls counted after the warm-up (default 200)")
    parser.add_argument("--setup", help="SQL run after the catalog is seeded (as the superuser)")
    parser.add_argument("--per-transaction", action="store_true",
                        help="commit after every call (each call its own transaction)")
    parser.add_argument("--floors", action="store_true",
                        help="our hot calls beside the floors and the bare references, each call its own transaction")
    args = parser.parse_args()
    folders = args.db or [ROOT / "db"]
    if args.floors:
        return floors(folders[0], args.calls)
    call = f"{args.call}; commit" if args.per_transaction else args.call
    if args.base:
        base_tree = Path(tempfile.mkdtemp(prefix="pgcredits-base-"))
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base, "db"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(base_tree)], input=archive.stdout, check=True)
        base_tree.chmod(0o755)
        folders = [base_tree / "db", *folders]
    rows = []
    for db in folders:
        base, database = prepared_cluster(db, args.setup)
        warm, counted = callgrind(base, database, call, 0), callgrind(base, database, call, args.calls)
        before, after = inclusive(warm), inclusive(counted)
        parts = {name: (after.get(name, 0) - before.get(name, 0)) / args.calls for name in PARTS}
        rows.append((db, (total(counted) - total(warm)) / args.calls, parts))
        subprocess.run(["rm", "-rf", str(base)], check=True)
    print(f"instructions per call of `{call}` ({args.calls} calls, callgrind):\n")
    print("| part | " + " | ".join(str(db) for db, _, _ in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    print("| **all** | " + " | ".join(f"**{whole / 1e6:.3f} M**" for _, whole, _ in rows) + " |")
    for name, what in PARTS.items():
        print(f"| {what} (`{name}`) | " + " | ".join(f"{parts[name] / 1e6:.3f} M" for _, _, parts in rows) + " |")
    return 0


def floors(db: Path, calls: int) -> int:
    """Print the instructions of each of FLOOR_CALLS, one call per transaction, all on one cluster."""
    base, database = prepared_cluster(db, FLOORS_SETUP)
    print(f"instructions per call, each call its own transaction ({calls} calls, callgrind, {db}):\n")
    print("| call | instructions |")
    print("|---|---:|")
    try:
        for name, statement in FLOOR_CALLS.items():
            call = f"{statement}; commit"
            warm, counted = callgrind(base, database, call, 0), callgrind(base, database, call, calls)
            print(f"| {name} | {(total(counted) - total(warm)) / calls / 1e6:.3f} M |", flush=True)
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
