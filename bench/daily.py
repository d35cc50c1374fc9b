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
override). A call past --timeout seconds is cancelled and reported, and the
later calls are skipped. Prints seconds per call and checks the ledger's
invariants after.
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


def run(accounts: int, timeout: int = 900) -> dict[str, Any]:
    """Time the four calls of grant_daily_credits() at `accounts` accounts; check the counts and invariants.

    A call running longer than `timeout` seconds is cancelled (it rolls back) and reported as such; the calls
    after it are not run, as they would measure another state.
    """
    with bench_database(SETUP % {"accounts": accounts}, clock_override=True) as (_, url, _):
        rows: list[dict[str, Any]] = []
        app = make_conninfo(url, user=APP_ROLE, options=f"-c statement_timeout={timeout * 1000}")
        for label, now in RUNS:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("analyze")  # as autovacuum would have after the last run's inserts
            with psycopg.connect(app) as conn:
                conn.execute("select set_config('credits.now', %s, false)", (now,))
                start = time.perf_counter()
                try:
                    (granted,) = conn.execute("select accounts_granted from credits.grant_daily_credits()").fetchone()
                    conn.commit()
                except psycopg.errors.QueryCanceled:
                    granted = None
                seconds = time.perf_counter() - start
            rows.append({"label": label, "granted": granted, "seconds": seconds})
            print(f"{label:20} {granted} accounts granted in {seconds:8.2f} s", file=sys.stderr)
            if granted is None:
                print(f"{label}: cancelled after {timeout} s; the later calls are not run", file=sys.stderr)
                break
        check_invariants(url, INVARIANTS)
    done = [row["granted"] for row in rows if row["granted"] is not None]
    expected = [accounts, 0, accounts, 0][: len(done)]
    if done != expected:
        raise InvariantsBroken(f"grant_daily_credits granted {done}, expected {expected}")
    return {"accounts": accounts, "timeout": timeout, "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    """One table: each call, the accounts it granted and its seconds."""
    lines = [f"| grant_daily_credits() at {result['accounts']:,} accounts | accounts granted | seconds |",
             "|---|---:|---:|"]
    for row in result["rows"]:
        granted = "cancelled" if row["granted"] is None else f"{row['granted']:,}"
        lines.append(f"| {row['label']} | {granted} | {row['seconds']:.2f} |")
    if len(result["rows"]) < len(RUNS):
        lines += ["", f"A call ran past the time limit of {result['timeout']} s and was cancelled; "
                  "the calls after it were not run."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts on the daily plan")
    parser.add_argument("--timeout", type=int, default=900, help="seconds after which a call is cancelled")
    args = parser.parse_args()
    print(markdown(run(args.accounts, args.timeout)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
