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

Floors, in the same run (docs/benchmarks.md, "Floors"): the least a call can do and keep the contract's rules
(SECURITY DEFINER with a pinned search_path, forced row-level security, the caller's account check): one balance row
read, with and without the account check, and a debit that writes only its three rows (balance, grant, ledger),
with and without it. `--without-policies` sets every row policy to `true` first, to measure what the policies'
expressions cost (the figures are then not ours as shipped).

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

# The floors: the least work a read and a debit can do under the contract's rules, as credits_owner (so the row
# policies apply) in SECURITY DEFINER functions that pin search_path. The debit keeps the ledger's invariants: its
# balance, its first grant and its ledger row move by the same 1.
FLOOR_SETUP = """
set role credits_owner;
create schema bench_floor;
grant usage on schema bench_floor to credits_service;
create function bench_floor.read(account_id text) returns numeric language plpgsql stable security definer
set search_path = pg_catalog, pg_temp as $$
begin
  return (select b.balance - b.held from credits_private.balances b
          where b.account_id = read.account_id and b.credit_type = 'credits');
end $$;
create function bench_floor.checked_read(account_id text) returns numeric language plpgsql stable security definer
set search_path = pg_catalog, pg_temp as $$
declare
  v_account credits_private.accounts := credits_private._account_to_read(account_id);
begin
  return (select b.balance - b.held from credits_private.balances b
          where b.account_id = v_account.account_id and b.credit_type = 'credits');
end $$;
create function bench_floor.debit(account_id text) returns bigint language plpgsql security definer
set search_path = pg_catalog, pg_temp as $$
declare
  v_before numeric;
  v_after numeric;
  v_available numeric;
  v_grant_id bigint;
  v_entry_id bigint;
begin
  update credits_private.balances b
  set balance = b.balance - 1, period_used = b.period_used + 1, updated_at = now()
  where b.account_id = debit.account_id and b.credit_type = 'credits' and b.balance - b.held >= 1
  returning b.balance + 1, b.balance, b.balance - b.held into v_before, v_after, v_available;
  if not found then
    return null;
  end if;
  update credits_private.grants g
  set remaining = g.remaining - 1
  where g.account_id = debit.account_id
    and g.grant_id = (select min(f.grant_id) from credits_private.grants f where f.account_id = debit.account_id)
  returning g.grant_id into v_grant_id;
  insert into credits_private.ledger_entries (account_id, credit_type, kind, amount, balance_before, balance_after,
                                              available_after, feature, units, draws, actor, created_at)
  values (debit.account_id, 'credits', 'debit', -1, v_before, v_after, v_available, 'call', '{}',
          jsonb_build_array(jsonb_build_object('grant_id', v_grant_id, 'amount', 1)), 'bench', now())
  returning entry_id into v_entry_id;
  return v_entry_id;
end $$;
create function bench_floor.checked_debit(account_id text) returns bigint language plpgsql security definer
set search_path = pg_catalog, pg_temp as $$
begin
  return bench_floor.debit((credits_private._account_to_act(account_id)).account_id);
end $$;
revoke all on all functions in schema bench_floor from public;
grant execute on all functions in schema bench_floor to credits_service;
reset role;
"""

# --without-policies: every row policy of credits_private becomes `true` (what the policies' expressions cost).
WITHOUT_POLICIES = """
do $$
declare
  p record;
begin
  for p in select * from pg_policies where schemaname = 'credits_private' loop
    execute format('alter policy %I on %I.%I', p.policyname, p.schemaname, p.tablename)
            || case when p.qual is not null then ' using (true)' else '' end
            || case when p.with_check is not null then ' with check (true)' else '' end;
  end loop;
end $$;
"""

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
    kind: str = "write"  # "write", "read", "floor" or "reference"


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
FLOOR_READ = "floor: one balance row read"
FLOOR_CHECKED_READ = "floor: account check + one balance row read"
FLOOR_DEBIT = "floor: a debit's three rows written"
FLOOR_CHECKED_DEBIT = "floor: account check + a debit's three rows"

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
    Side(FLOOR_READ, "uniform", script=UNIFORM + "select bench_floor.read('a' || :aid);\n", kind="floor"),
    Side(FLOOR_CHECKED_READ, "uniform", script=UNIFORM + "select bench_floor.checked_read('a' || :aid);\n",
         kind="floor"),
    Side(FLOOR_DEBIT, "uniform", script=UNIFORM + "select bench_floor.debit('a' || :aid);\n", kind="floor"),
    Side(FLOOR_CHECKED_DEBIT, "uniform", script=UNIFORM + "select bench_floor.checked_debit('a' || :aid);\n",
         kind="floor"),
    Side(HOT, "hot", script="select * from credits.deduct_credits('a1', 'call');\n"),
    Side(HOT_QUIET, "hot", QUIET_ROLE, script="select * from credits.deduct_credits('a1', 'call');\n"),
    Side(BARE_HOT, "hot", script="select bench_ref.debit(1, 1);\n", kind="reference"),
]  # fmt: skip
REFERENCE_OF = {"uniform": BARE, "hot": BARE_HOT}


def run(seconds: int, runs: int, clients: list[int], accounts: int, without_policies: bool = False) -> dict[str, Any]:
    """Run every side at every client count, `runs` rounds; return the medians as rows of plain data."""
    setup = CATALOG_SETUP % {"accounts": accounts} + REFERENCE_SETUP % {"accounts": accounts} + FLOOR_SETUP
    if without_policies:
        setup += WITHOUT_POLICIES
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
    return {"seconds": seconds, "runs": runs, "accounts": accounts, "clients": clients, "rows": rows,
            "without_policies": without_policies}


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
    if result.get("without_policies"):
        lines[0] += " Every row policy set to `true` (--without-policies): not the product as shipped."
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
    parser.add_argument("--without-policies", action="store_true",
                        help="every row policy set to true first: what the policies' expressions cost")
    args = parser.parse_args()
    result = run(args.seconds, args.runs, [int(c) for c in args.clients.split(",")], args.accounts,
                 args.without_policies)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
