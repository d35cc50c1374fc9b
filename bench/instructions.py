"""Instructions per deduct_credits, this tree against another revision: callgrind, one backend, no I/O noise.

    .venv/bin/python bench/instructions.py [--base REV] [--accounts 1000] [--debits 1000]

A throwaway cluster with two fresh databases built the same way (the bench catalog of common.py: `accounts`
accounts with one large promo grant, feature `call` costing 1): one migrated by the functions of revision REV
(default: the merge base with main, read with `git archive`), one by this tree. Then, cluster stopped, each
database runs `postgres --single` under valgrind's callgrind twice: 100 debits (warming up), then
100 + `debits`; the difference of the two totals, divided by `debits`, is the cost of one debit. Instruction
counts do not drift with the machine's load, so a difference of a few thousand instructions is real. Needs
valgrind. A measurement for reading, not a test.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from pgcredits.cluster import Cluster, _bindir, _make_dir, _server_user, free_port

REPO = Path(__file__).resolve().parent.parent
SETUP = """
select credits.upsert_credit_type('credits');
select credits.upsert_feature('call', 'credits', 1);
select credits.upsert_plan('bench');
select credits.set_plan_feature('bench', 'call');
select credits.open_account('a' || i, 'bench') from generate_series(1, %(accounts)s) i;
select credits.grant_credits('a' || i, 1000000000, 'promo') from generate_series(1, %(accounts)s) i;
"""


def migrate_with(tree: Path, url: str) -> None:
    """Migrate `url` with the migrations and function files of `tree` (its own pgcredits package)."""
    code = "import sys; from pgcredits.migrate import migrate; migrate(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, url], env={"PYTHONPATH": str(tree / "python")}, check=True,
                   capture_output=True)


def instructions(cluster: Cluster, db: str, debits: int, accounts: int, work: Path) -> int:
    script = work / f"{db}_{debits}.sql"
    script.write_text("do $$ begin for i in 1..%d loop perform credits.deduct_credits('a' || (1 + i %% %d), 'call');"
                      " end loop; end $$;\n" % (debits, accounts))
    script.chmod(0o644)
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/{db}_{debits}.out",
               str(_bindir() / "postgres"), "--single", "-D", str(cluster.data_dir), db]
    if (user := _server_user()) is not None:
        command = ["runuser", "-u", user.pw_name, "--", *command]
    with script.open() as stdin:
        result = subprocess.run(command, stdin=stdin, capture_output=True, text=True, cwd="/", check=False)
    collected = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or collected is None:
        raise RuntimeError(f"postgres --single on {db} failed: {result.stdout[-2000:]} {result.stderr[-2000:]}")
    return int(collected.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=None, help="the revision to compare with (default: merge-base HEAD main)")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--debits", type=int, default=1000)
    args = parser.parse_args()
    base_rev = args.base or subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=REPO, capture_output=True,
                                           text=True, check=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="pgcredits-instructions-"))
    _make_dir(work)
    base_tree = work / "base"
    base_tree.mkdir()
    archive = subprocess.run(["git", "archive", base_rev], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(base_tree)], input=archive, check=True)
    cluster = Cluster.throwaway(port=free_port(), cron_database="postgres")
    cluster.init()
    cluster.start()
    try:
        for db, tree in (("base", base_tree), ("this", REPO)):
            with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
                conn.execute(f"create database {db}")
            migrate_with(tree, cluster.url(db))
            with psycopg.connect(cluster.url(db), autocommit=True) as conn:
                conn.execute(SETUP % {"accounts": args.accounts})
                conn.execute("vacuum analyze")
                conn.execute("checkpoint")
        # Stopped, its files kept: postgres --single needs the data folder to itself.
        cluster._run("pg_ctl", "stop", "--pgdata", str(cluster.data_dir), "--mode", "fast", "--wait", "--silent")
        per_debit = {}
        for db in ("base", "this"):
            warm = instructions(cluster, db, 100, args.accounts, work)
            total = instructions(cluster, db, 100 + args.debits, args.accounts, work)
            per_debit[db] = (total - warm) / args.debits
        print(f"instructions per deduct_credits ({args.accounts} accounts, {args.debits} debits, callgrind):")
        print(f"  {base_rev[:10]}: {per_debit['base']:,.0f}")
        print(f"  this tree : {per_debit['this']:,.0f} ({per_debit['this'] / per_debit['base'] - 1:+.2%})")
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
