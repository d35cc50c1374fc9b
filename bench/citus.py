"""Deduct throughput on Citus (1 coordinator + 2 workers) beside single-node PostgreSQL, side by side in one run.

    .venv/bin/python bench/citus.py [--seconds 15] [--runs 3] [--clients 1,16] [--accounts 2000]
    make bench-citus  (builds Citus first, as make test-citus does)

Two systems on this machine, started from the same server binaries (the Citus
build of tests/citus/build_citus.sh) with the same durable settings (fsync,
synchronous_commit on): one PostgreSQL node migrated as usual, and a Citus
cluster (tests/citus/cluster.py) migrated with --citus. Both are seeded alike:
the catalog of bench/common.py, `accounts` accounts a1..aN with a large grant,
and a login role bench_app in credits_service. pgbench (-M prepared) connects
to the single node and to the coordinator. Workloads:

- deduct_credits, one account per transaction, uniform over the accounts;
- two deduct_credits in one transaction (BEGIN ... COMMIT) on two accounts
  that Citus keeps on one worker ("same worker"), and on two accounts on the
  two workers ("two workers": a two-phase commit); on the single node the same
  pairs of accounts, all on its one node.

Each point runs `runs` times; in each round the two systems take turns (the
order swapped every round), so both see the same shared, drifting machine; the
median of each figure is reported, with the ratio Citus / single node. The
ledger's invariants are checked on both after every round. The three Citus
nodes share the machine's cores and disk with the single node's one, so the
ratio is what the distribution costs on one machine, not what it gains on many.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg
from common import APP_ROLE, INVARIANTS, Run, check_invariants, median_run, pgbench, write_script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pgcredits.dev.cluster import Cluster, free_port  # noqa: E402
from pgcredits.migrate import migrate  # noqa: E402
from tests.citus.cluster import DATABASE, NODE_SETTINGS, CitusMissing, running  # noqa: E402

# Durable commits on every node, and room for the WAL of a long run (bench/common.py's SETTINGS).
DURABLE = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on", "max_wal_size": "2GB"}

SEED = """
select credits.upsert_credit_type('credits');
select credits.upsert_feature('call', 'credits', 1);
select credits.upsert_plan('bench');
select credits.set_plan_feature('bench', 'call');
"""
ACCOUNT = ("select * from credits.open_account(%s, 'bench')",
           "select * from credits.grant_credits(%s, 1000000000, 'promo')")
ROLE = f"create role {APP_ROLE} login in role credits_service"
# Pairs of accounts for the two-account transactions; a plain table (local to the coordinator on Citus).
PAIRS_TABLE = """create table bench_pairs (kind text, k integer, a text, b text, primary key (kind, k));
grant select on bench_pairs to bench_app"""

UNIFORM = "\\set aid random(1, {accounts})\nselect * from credits.deduct_credits('a' || :aid, 'call');\n"
PAIR = """\\set k random(1, {pairs})
select a, b from bench_pairs where kind = '{kind}' and k = :k \\gset
begin;
select * from credits.deduct_credits(:a, 'call');
select * from credits.deduct_credits(:b, 'call');
commit;
"""
WORKLOADS = {
    "deduct_credits": UNIFORM,
    "2 x deduct_credits in one transaction, same worker": PAIR.replace("{kind}", "same"),
    "2 x deduct_credits in one transaction, two workers": PAIR.replace("{kind}", "cross"),
}
PAIR_CLIENTS = 16  # the two-account transactions run at this many clients only


@contextmanager
def single_node() -> Iterator[tuple[Cluster, str]]:
    """One PostgreSQL node (no Citus loaded), the database `pgcredits`, migrated."""
    settings = {**{k: v for k, v in NODE_SETTINGS.items() if not k.startswith(("citus.", "shared_preload"))},
                **DURABLE}  # fmt: skip
    node = Cluster.throwaway(port=free_port(), cron_database="postgres", settings=settings)
    try:
        node.init()
        node.start()
        with psycopg.connect(node.url("postgres"), autocommit=True) as conn:
            conn.execute(f"create database {DATABASE}")
        url = node.url(DATABASE)
        migrate(url, citus=False)
        yield node, url
    finally:
        node.stop()


def seed(url: str, accounts: int, citus: bool) -> list[str]:
    """The catalog, the accounts (one call each: on Citus each runs on its worker), the role; returns the ids."""
    ids = [f"a{i}" for i in range(1, accounts + 1)]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
        for account_id in ids:
            for statement in ACCOUNT:
                conn.execute(statement, (account_id,))
        conn.execute(ROLE)
        conn.execute(PAIRS_TABLE)
        if citus:
            conn.execute("vacuum analyze credits_private.balances")
        else:
            conn.execute("vacuum analyze")
    return ids


def workers_of(url: str, ids: list[str]) -> dict[str, int]:
    """The port of the worker holding each account (on the Citus coordinator)."""
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(
            """select a.id, s.nodeport
               from unnest(%s::text[]) a (id)
               join citus_shards s on s.table_name = 'credits_private.accounts'::regclass
                and s.shardid = get_shard_id_for_distribution_column('credits_private.accounts', a.id)""",
            (ids,),
        ).fetchall()
    return dict(found)


def pairs(node_of: dict[str, int]) -> dict[str, list[tuple[str, str]]]:
    """Pairs of distinct accounts on one worker ("same") and on the two workers ("cross"), as many of each."""
    by_node: dict[int, list[str]] = {}
    for account_id, port in sorted(node_of.items(), key=lambda item: int(item[0][1:])):
        by_node.setdefault(port, []).append(account_id)
    first, second = by_node.values()
    n = min(len(first), len(second)) // 2
    same = [(first[2 * i], first[2 * i + 1]) if i % 2 == 0 else (second[2 * i], second[2 * i + 1]) for i in range(n)]
    cross = [(first[i], second[i]) for i in range(n)]
    return {"same": same, "cross": cross}


def store_pairs(url: str, found: dict[str, list[tuple[str, str]]]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for kind, rows in found.items():
            with conn.cursor() as cur:
                cur.executemany("insert into bench_pairs values (%s, %s, %s, %s)",
                                [(kind, k, a, b) for k, (a, b) in enumerate(rows, 1)])  # fmt: skip


def run(seconds: int, runs: int, clients: list[int], accounts: int) -> dict[str, Any]:
    """Every workload on both systems, `runs` rounds; the medians and the ratios as rows of plain data."""
    with running(workers=2, settings=DURABLE) as citus, single_node() as (node, single_url):
        citus_url = citus.url()
        migrate(citus_url, citus=True)
        print("seeding ...", file=sys.stderr)
        ids = seed(single_url, accounts, citus=False)
        seed(citus_url, accounts, citus=True)
        found = pairs(workers_of(citus_url, ids))
        store_pairs(single_url, found)
        store_pairs(citus_url, found)
        base = Path(node.data_dir).parent
        scripts = {name: write_script(base, f"w{i}", text.format(accounts=accounts, pairs=len(found["same"])))
                   for i, (name, text) in enumerate(WORKLOADS.items())}  # fmt: skip
        systems = {"single": (node, single_url), "citus": (citus.coordinator, citus_url)}
        points = [(name, n) for name in WORKLOADS for n in (clients if name == "deduct_credits" else [PAIR_CLIENTS])]
        measured: dict[tuple[str, str, int], list[Run]] = {}
        for round_no in range(1, runs + 1):
            order = ["single", "citus"] if round_no % 2 else ["citus", "single"]
            for name, n in points:
                for system in order:
                    cluster, _ = systems[system]
                    result = pgbench(cluster, base, n, seconds, APP_ROLE, scripts[name], database=DATABASE)
                    measured.setdefault((system, name, n), []).append(result)
                    print(f"round {round_no}: {system:6} {name:52} {n:3} clients {result.tps:8.0f} tps "
                          f"avg {result.avg_ms:6.2f} ms p99 {result.p99_ms:7.2f} ms", file=sys.stderr)
            for _, url in systems.values():
                check_invariants(url, INVARIANTS)
    rows = []
    for name, n in points:
        single, on_citus = (median_run(measured[(system, name, n)]) for system in ("single", "citus"))
        rows.append({"name": name, "clients": n, "single": asdict(single), "citus": asdict(on_citus),
                     "ratio": on_citus.tps / single.tps})  # fmt: skip
    return {"seconds": seconds, "runs": runs, "accounts": accounts, "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    """The table of medians, both systems side by side, and the ratio Citus / single node."""
    lines = [
        f"pgbench -M prepared, {result['seconds']} s per run, median of {result['runs']} runs, "
        f"{result['accounts']:,} accounts, durable commits on every node.",
        "",
        "| workload | clients | single node tps | Citus tps | Citus / single | single p99 ms | Citus p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        single, citus = row["single"], row["citus"]
        lines.append(f"| {row['name']} | {row['clients']} | {single['tps']:,.0f} | {citus['tps']:,.0f} | "
                     f"{row['ratio']:.2f} | {single['p99_ms']:.1f} | {citus['p99_ms']:.1f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15, help="duration of each pgbench run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each point (the median is reported)")
    parser.add_argument("--clients", default="1,16", help="client counts of the one-account workload")
    parser.add_argument("--accounts", type=int, default=2000, help="accounts a1..aN")
    args = parser.parse_args()
    try:
        result = run(args.seconds, args.runs, [int(n) for n in args.clients.split(",")], args.accounts)
    except CitusMissing as err:
        print(err, file=sys.stderr)
        return 1
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
