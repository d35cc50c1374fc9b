"""Benchmark grant_daily_credits() at a million accounts.

    .venv/bin/python bench/daily.py [--accounts 1000000]

A fresh local cluster (defaults plus max_wal_size=2GB, synchronous_commit=on:
durable commits) in a temporary folder. The accounts, on a plan with a daily
allowance of 5 credits, are spread over four time zones (UTC, Asia/Tokyo,
Asia/Kolkata, America/Los_Angeles) and inserted set-based (opening them one
by one would take longer than what is measured). Each timed call is one
transaction, `select * from credits.grant_daily_credits()`, run by a login
role that is a member of credits_service, as pg_cron would run it:

- day 1: the first grant of every account (its balance row is created too);
- day 1 again: nothing to grant;
- day 2: every account again, yesterday's grant ended but not yet settled
  (the steady state of the hourly job);
- day 2 again: nothing to grant.

The clock is moved with credits.now (the bench database allows the
override). Prints seconds per call and checks the ledger's invariants after.
Speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import psycopg
from common import INVARIANTS as COMMON_INVARIANTS
from common import InvariantsBroken, bench_database, check_invariants
from psycopg.conninfo import make_conninfo

APP_ROLE = "bench_cron"
DAY_1 = "2026-03-10 12:00+00"  # Mar 10 in all four zones
DAY_2 = "2026-03-11 12:00+00"

SETUP = """
select credits.upsert_credit_type('credits');
select credits.upsert_feature('call', 'credits', 1);
select credits.upsert_plan('daily', daily_allowance => '{"credits": 5}');
select credits.set_plan_feature('daily', 'call');
insert into credits_private.accounts
  (account_id, plan, timezone, billing_anchor, period_start, period_end, created_at, updated_at)
select 'a' || i, 'daily', (array['UTC', 'Asia/Tokyo', 'Asia/Kolkata', 'America/Los_Angeles'])[1 + i %% 4],
       timestamptz '2026-03-01 00:00+00', timestamptz '2026-03-01 00:00+00', timestamptz '2026-04-01 00:00+00',
       timestamptz '2026-03-01 00:00+00', timestamptz '2026-03-01 00:00+00'
from generate_series(1, %(accounts)s) i;
insert into credits_private.periods (account_id, period_start, period_end, plan, created_at)
select account_id, period_start, period_end, plan, created_at from credits_private.accounts;
do $$ begin
  if not exists (select from pg_roles where rolname = 'bench_cron') then
    create role bench_cron login in role credits_service;
  end if;
end $$;
"""

INVARIANTS = {
    **COMMON_INVARIANTS,
    "daily grants not one per account and day": """select count(*) from (select account_id, local_day
        from credits_private.grants where source = 'daily' group by 1, 2 having count(*) <> 1) d""",
}

RUNS = [("day 1, first grant", DAY_1), ("day 1 again", DAY_1), ("day 2", DAY_2), ("day 2 again", DAY_2)]


def run(accounts: int) -> dict[str, Any]:
    """Time the four calls of grant_daily_credits() at `accounts` accounts; check the counts and invariants."""
    with bench_database(SETUP % {"accounts": accounts}, clock_override=True) as (_, url, _):
        rows = []
        app = make_conninfo(url, user=APP_ROLE)
        for label, now in RUNS:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("analyze")  # as autovacuum would have after the last run's inserts
            with psycopg.connect(app) as conn:
                conn.execute("select set_config('credits.now', %s, false)", (now,))
                start = time.perf_counter()
                (granted,) = conn.execute("select accounts_granted from credits.grant_daily_credits()").fetchone()
                conn.commit()
                seconds = time.perf_counter() - start
            rows.append({"label": label, "granted": granted, "seconds": seconds})
            print(f"{label:20} {granted:9} accounts granted in {seconds:8.2f} s", file=sys.stderr)
        check_invariants(url, INVARIANTS)
    expected = [accounts, 0, accounts, 0]
    if [row["granted"] for row in rows] != expected:
        raise InvariantsBroken(f"grant_daily_credits granted {[row['granted'] for row in rows]}, expected {expected}")
    return {"accounts": accounts, "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    """One table: each call, the accounts it granted and its seconds."""
    lines = [f"| grant_daily_credits() at {result['accounts']:,} accounts | accounts granted | seconds |",
             "|---|---:|---:|"]
    lines += [f"| {row['label']} | {row['granted']:,} | {row['seconds']:.2f} |" for row in result["rows"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts on the daily plan")
    args = parser.parse_args()
    print(markdown(run(args.accounts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
