"""Benchmark the HTTP gateway beside the same calls made directly with asyncpg.

    .venv/bin/python bench/gateway.py [--seconds 10] [--runs 3] [--concurrency 16,256] [--accounts 10000]

A fresh local cluster (defaults plus max_wal_size=2GB, synchronous_commit=on)
with `accounts` accounts. The gateway (pgcredits.gateway, uvicorn, access log
off) runs in its own process with a pool of POOL_SIZE connections, logged in
as a role that may only SET ROLE to the four caller roles; requests carry an
HS256 token with the role credits_service. A bounded load generator (one
asyncio process: `concurrency` workers, each sending its next request when the
last one answered, over httpx keep-alive connections) measures requests per
second and p50/p99 latency of

- POST /rpc/deduct_credits  {"account_id": "a<random>", "feature": "call"}
- GET  /rpc/get_balance?account_id=a<random>

and, in turns with it, the same two calls made directly with asyncpg (a pool of
the same POOL_SIZE connections, as a member of credits_service, prepared
statements). Every answer must be a success; any other fails the run. The
load generator shares the 2 cores with the gateway and the server, so its own
cost is part of the figures, for both sides alike. The ledger's invariants are
checked after every round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg
import httpx
import jwt
from common import APP_ROLE, CATALOG_SETUP, as_role, bench_database, check_invariants, free_port, percentile

POOL_SIZE = 16
SECRET = "pgcredits benchmark secret, long enough for HS256"
GATEWAY_ROLE = "bench_gateway"
GATEWAY_SETUP = f"""
create role {GATEWAY_ROLE} login noinherit in role credits_user, credits_service, credits_admin, credits_auditor;
"""
# The gateway's own process: what `pgcredits serve` runs, without an access log line per request.
LAUNCH = """
import sys, uvicorn
from pgcredits.gateway.app import create_app
uvicorn.run(create_app(sys.argv[1], pool_size=int(sys.argv[3])), host="127.0.0.1", port=int(sys.argv[2]),
            access_log=False, log_level="warning")
"""
CALLS = ("deduct_credits", "get_balance")

Call = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Load:
    """What one timed run of one call at one concurrency gave."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int


async def _load(call: Call, concurrency: int, seconds: float, accounts: int) -> Load:
    """`concurrency` workers call `call` back to back for `seconds`; every call's latency is kept."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            account = f"a{random.randint(1, accounts)}"
            start = time.perf_counter()
            await call(account)
            latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return Load(len(latencies) / elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99), len(latencies))


def _gateway_calls(client: httpx.AsyncClient) -> dict[str, Call]:
    async def deduct(account: str) -> None:
        answer = await client.post("/rpc/deduct_credits", json={"account_id": account, "feature": "call"})
        _expect(answer.status_code == 200 and answer.json()[0]["ok"], f"deduct_credits: {answer.text[:300]}")

    async def balance(account: str) -> None:
        answer = await client.get("/rpc/get_balance", params={"account_id": account})
        _expect(answer.status_code == 200, f"get_balance: {answer.text[:300]}")

    return {"deduct_credits": deduct, "get_balance": balance}


def _direct_calls(pool: asyncpg.Pool) -> dict[str, Call]:
    async def deduct(account: str) -> None:
        ok = await pool.fetchval("select ok from credits.deduct_credits(account_id => $1, feature => 'call')", account)
        _expect(ok, f"deduct_credits refused for {account}")

    async def balance(account: str) -> None:
        rows = await pool.fetch("select * from credits.get_balance(account_id => $1)", account)
        _expect(bool(rows), f"get_balance returned nothing for {account}")

    return {"deduct_credits": deduct, "get_balance": balance}


def _expect(condition: Any, failure: str) -> None:
    if not condition:
        raise SystemExit(f"a benchmark call failed: {failure}")


async def _measure(url: str, gateway_url: str, seconds: int, runs: int, concurrency: list[int],
                   accounts: int) -> dict[tuple[str, str, int], list[Load]]:
    """Gateway and asyncpg in turns: per concurrency, per round, each call through each path."""
    token = jwt.encode({"sub": "bench", "role": "credits_service", "exp": int(time.time()) + 86400}, SECRET,
                       algorithm="HS256")  # fmt: skip
    measured: dict[tuple[str, str, int], list[Load]] = {}
    async with asyncpg.create_pool(as_role(url, APP_ROLE), min_size=POOL_SIZE, max_size=POOL_SIZE) as pool:
        for n in concurrency:
            limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
            async with httpx.AsyncClient(base_url=gateway_url, limits=limits, timeout=60,
                                         headers={"Authorization": f"Bearer {token}"}) as client:  # fmt: skip
                paths = {"gateway (HTTP)": _gateway_calls(client), "asyncpg direct": _direct_calls(pool)}
                for _ in range(runs):
                    for call in CALLS:
                        for path, calls in paths.items():
                            load = await _load(calls[call], n, seconds, accounts)
                            measured.setdefault((call, path, n), []).append(load)
                            print(f"{call:15} {path:15} {n:4} concurrent {load.rps:8.0f} req/s "
                                  f"p50 {load.p50_ms:7.2f} ms p99 {load.p99_ms:7.2f} ms", file=sys.stderr)
                    check_invariants(url)
    return measured


def _start_gateway(url: str) -> tuple[subprocess.Popen[bytes], str]:
    """The gateway in its own process, logged in as its own role; wait until /ready answers 200."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", LAUNCH, as_role(url, GATEWAY_ROLE), str(port), str(POOL_SIZE)],
                               env={**os.environ, "PGCREDITS_JWT_SECRET": SECRET})  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the gateway exited with status {process.returncode} before it was ready")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"the gateway did not answer /ready with 200 within 60 s on {base}")


def run(seconds: int, runs: int, concurrency: list[int], accounts: int) -> dict[str, Any]:
    """Start a database and the gateway, measure both paths; return the medians as plain data."""
    with bench_database(CATALOG_SETUP % {"accounts": accounts} + GATEWAY_SETUP) as (_, url, _):
        process, gateway_url = _start_gateway(url)
        try:
            measured = asyncio.run(_measure(url, gateway_url, seconds, runs, concurrency, accounts))
        finally:
            process.terminate()
            process.wait(timeout=30)
    rows = []
    for (call, path, n), loads in measured.items():
        median = Load(*(statistics.median(getattr(load, f) for load in loads) for f in Load.__dataclass_fields__))
        rows.append({"call": call, "path": path, "concurrency": n, **asdict(median)})
    rows.sort(key=lambda r: (r["call"], r["concurrency"], r["path"]))
    return {"seconds": seconds, "runs": runs, "accounts": accounts, "pool_size": POOL_SIZE, "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    """One table: each call through each path at each concurrency, with the gateway's share of direct speed."""
    direct = {(r["call"], r["concurrency"]): r["rps"] for r in result["rows"] if r["path"] == "asyncpg direct"}
    lines = [
        f"One Python asyncio load generator, {result['seconds']} s per run, median of {result['runs']} runs, "
        f"{result['accounts']:,} accounts chosen uniformly, {result['pool_size']} database connections on both paths.",
        "",
        "| call | path | concurrent connections | requests/s | p50 ms | p99 ms | ratio to asyncpg direct |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(f"| {r['call']} | {r['path']} | {r['concurrency']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} | {r['rps'] / direct[(r['call'], r['concurrency'])]:.2f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each timed run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each point (the median is reported)")
    parser.add_argument("--concurrency", default="16,256", help="comma-separated concurrent connections")
    parser.add_argument("--accounts", type=int, default=10000, help="accounts the calls are spread over")
    args = parser.parse_args()
    print(markdown(run(args.seconds, args.runs, [int(c) for c in args.concurrency.split(",")], args.accounts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
