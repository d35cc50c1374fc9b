"""Benchmark get_history and get_balance as the ledger grows (100k, 1M, 10M rows): reads must not slow down.

    .venv/bin/python bench/ledger.py [--sizes 100000,1000000,10000000] [--seconds 10] [--runs 3] [--clients 1,16]

A fresh local cluster (defaults plus max_wal_size=2GB, synchronous_commit=on)
with `accounts` accounts, each with one large grant. The ledger is grown to
each size in turn, then both reads are timed with pgbench (-M prepared, as a
member of credits_service) on uniformly chosen accounts.

Seeding is set-based and consistent: per stage, in ONE transaction, the
superuser inserts the missing debit rows (1 credit each, the feature `call`,
drawn from the account's grant, accounts interleaved as real traffic would
be), with a correct balance_before/balance_after chain per account, then
moves each balance row (balance, used this period) and each grant's
remainder by the same sum. So at every commit the reconciliation view is
empty; the invariants and every account's balance chain are checked after
each stage. The debits' events are not written (one balance_changed per
account comes from the balance update). Seeding and vacuum times are
reported apart from the reads.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from typing import Any

import psycopg
from common import APP_ROLE, CATALOG_SETUP, INVARIANTS, Run, bench_database, check_invariants, median_run
from common import pgbench, write_script

BATCH_ROWS = 1_000_000  # rows per INSERT statement; all of a stage's statements share one transaction

# Debits i = first..last of the stage's new ones in every account; b.balance is still the balance before the stage.
INSERT_DEBITS = """
insert into credits_private.ledger_entries
  (account_id, credit_type, kind, amount, balance_before, balance_after, available_after, feature, units, draws,
   actor, metadata, created_at)
select b.account_id, b.credit_type, 'debit', -1, b.balance - s.i + 1, b.balance - s.i, b.balance - b.held - s.i,
       'call', '{}', jsonb_build_array(jsonb_build_object('grant_id', g.grant_id, 'amount', 1.000000)),
       'bench_seed', '{}', now()
from generate_series(%(first)s::int, %(last)s::int) s (i)
cross join credits_private.balances b
join credits_private.grants g on g.account_id = b.account_id and g.credit_type = b.credit_type and g.source = 'promo'
order by s.i, b.account_id
"""

SETTLE_BALANCES = """
update credits_private.balances
set balance = balance - %(rows)s, period_used = period_used + %(rows)s, updated_at = now()
"""
SETTLE_GRANTS = "update credits_private.grants set remaining = remaining - %(rows)s where source = 'promo'"

# Every row's balance_before is its predecessor's balance_after, and the last row's balance_after is the balance.
CHAIN_INVARIANTS = {
    "broken balance chains": """select count(*) from (select balance_before,
        lag(balance_after, 1, 0::numeric) over (partition by account_id, credit_type order by entry_id) as previous
        from credits_private.ledger_entries) c where balance_before <> previous""",
    "balances unlike the last ledger row": """select count(*) from credits_private.balances b
        where b.balance <> (select l.balance_after from credits_private.ledger_entries l
                            where l.account_id = b.account_id and l.credit_type = b.credit_type
                            order by l.entry_id desc limit 1)""",
}

READS = {
    "get_history": "select * from credits.get_history('a' || :aid);\n",
    "get_balance": "select * from credits.get_balance('a' || :aid);\n",
}


def run(sizes: list[int], seconds: int, runs: int, clients: list[int], accounts: int) -> dict[str, Any]:
    """Grow the ledger to each size, timing the seeding, then time the reads; return plain data."""
    stages = []
    with bench_database(CATALOG_SETUP % {"accounts": accounts}) as (cluster, url, base):
        scripts = {name: write_script(base, name, f"\\set aid random(1, {accounts})\n" + sql)
                   for name, sql in READS.items()}  # fmt: skip
        rows_now = _ledger_rows(url)
        for size in sizes:
            target = max(0, -(-(size - rows_now) // accounts))  # new debits per account, rounded up
            seed_seconds = _seed(url, target, accounts)
            start = time.perf_counter()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("vacuum analyze")  # as autovacuum would have by now
            vacuum_seconds = time.perf_counter() - start
            rows_now = _ledger_rows(url)
            print(f"ledger at {rows_now:,} rows: seeded in {seed_seconds:.1f} s, vacuum {vacuum_seconds:.1f} s",
                  file=sys.stderr)
            check_invariants(url, {**INVARIANTS, **CHAIN_INVARIANTS})
            measured: dict[tuple[str, int], list[Run]] = {}
            for n in clients:
                for _ in range(runs):
                    for name, script in scripts.items():
                        result = pgbench(cluster, base, n, seconds, APP_ROLE, script)
                        measured.setdefault((name, n), []).append(result)
                        print(f"{rows_now:>11,} rows: {name:12} {n:3} clients {result.tps:9.0f} tps "
                              f"avg {result.avg_ms:6.2f} ms p99 {result.p99_ms:6.2f} ms", file=sys.stderr)
            stages.append({
                "size": size, "ledger_rows": rows_now, "seed_seconds": seed_seconds,
                "vacuum_seconds": vacuum_seconds,
                "rows": [{"name": name, "clients": n, **asdict(median_run(measured[(name, n)]))}
                         for name in READS for n in clients],
            })  # fmt: skip
    return {"seconds": seconds, "runs": runs, "accounts": accounts, "clients": clients, "stages": stages}


def _seed(url: str, debits: int, accounts: int) -> float:
    """Append `debits` debits to every account and settle balances and grants, in one transaction; seconds."""
    if debits <= 0:
        return 0.0
    step = max(1, BATCH_ROWS // accounts)
    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("set local credits.notify_balance_changed = off")
        for low in range(1, debits + 1, step):
            conn.execute(INSERT_DEBITS, {"first": low, "last": min(low + step - 1, debits)})
        conn.execute(SETTLE_BALANCES, {"rows": debits})
        conn.execute(SETTLE_GRANTS, {"rows": debits})
        conn.commit()
    return time.perf_counter() - start


def _ledger_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from credits_private.ledger_entries").fetchone()
        return int(row[0]) if row else 0


def markdown(result: dict[str, Any]) -> str:
    """One table: each read at each ledger size, beside the time it took to seed that size."""
    lines = [
        f"pgbench -M prepared, {result['seconds']} s per run, median of {result['runs']} runs, "
        f"{result['accounts']:,} accounts chosen uniformly; get_history reads the newest page of 50.",
        "",
        "| ledger rows | seeding s | vacuum s | read | clients | tps | avg latency ms | p99 latency ms |",
        "|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for stage in result["stages"]:
        for row in stage["rows"]:
            lines.append(f"| {stage['ledger_rows']:,} | {stage['seed_seconds']:.1f} | {stage['vacuum_seconds']:.1f} "
                         f"| {row['name']} | {row['clients']} | {row['tps']:,.0f} | {row['avg_ms']:.2f} "
                         f"| {row['p99_ms']:.2f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000", help="ledger sizes to grow to, in order")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each pgbench run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each point (the median is reported)")
    parser.add_argument("--clients", default="1,16", help="comma-separated client counts")
    parser.add_argument("--accounts", type=int, default=10000, help="accounts the ledger rows are spread over")
    args = parser.parse_args()
    result = run([int(s) for s in args.sizes.split(",")], args.seconds, args.runs,
                 [int(c) for c in args.clients.split(",")], args.accounts)  # fmt: skip
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
