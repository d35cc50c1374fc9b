"""Benchmark the HTTP gateway with wrk beside the same calls made directly with asyncpg, and /events at scale.

    .venv/bin/python bench/gateway.py [--seconds 10] [--runs 3] [--concurrency 16,256,1000] [--accounts 10000]
                                      [--workers 2] [--pool-size 8] [--streams 1000] [--profile FILE]
                                      [--only rpc,events]

A fresh local cluster (defaults plus max_wal_size=2GB, synchronous_commit=on)
with `accounts` accounts. The gateway runs as `pgcredits serve --workers N`
in its own processes (each worker its own pool of `pool_size` connections
and its own LISTEN connection), logged in as a role that may only SET ROLE
to the four caller roles.

rpc: wrk (C, 2 threads, one Lua script per call, keep-alive connections)
measures requests/s, p50/p99 latency, errors (non-2xx answers, connect,
read and write errors) and timeouts (wrk's 2 s) of

- POST /rpc/deduct_credits  {"account_id": "a<random>", "feature": "call"}
- GET  /rpc/get_balance?account_id=a<random>

with an HS256 token of role credits_service, at each `concurrency`; in
turns with it, the same calls made directly with asyncpg (one uvloop
process, `concurrency` coroutines over a pool of workers x pool_size
connections, the gateway's total, prepared statements). The Python side is
reported with its own CPU use, so one can see whether it was the limit.

events: `streams` /events streams (accounts a1..aN, one token subject each,
role credits_user) held open by one asyncio process. The same load runs
twice, without the streams and then with them: a prober debits the streamed
accounts directly (asyncpg, `--probe-rate` a second, round robin, so one at
a time per account), while wrk runs deduct_credits at 256 connections on
the other accounts (at full speed, then paced). With the streams, the
prober notes when it sent each COMMIT: delivery latency is the arrival of
the account's next balance_changed minus that moment (an upper bound: the
commit happened after it). RPC latency without and with the streams is
wrk's.

`--profile FILE`: py-spy samples one gateway worker for a wrk deduct_credits
run at 256 connections and writes FILE (a flame graph, .svg) and the
functions with the most samples. The ledger's invariants are checked after
every round. Speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
from common import APP_ROLE, CATALOG_SETUP, as_role, bench_database, check_invariants, free_port, percentile

SECRET = "pgcredits benchmark secret, long enough for HS256"
GATEWAY_ROLE = "bench_gateway"
GATEWAY_SETUP = f"""
create role {GATEWAY_ROLE} login noinherit in role credits_user, credits_service, credits_admin, credits_auditor;
"""
CALLS = ("deduct_credits", "get_balance")
WRK = shutil.which("wrk") or "/usr/bin/wrk"
WRK_TIMEOUT = "2s"
EVENTS_WRK_CONNECTIONS = 256

# One Lua script per call: each request picks a random account of a[first]..a[last].
WRK_SCRIPT = """
local first, last = %(first)d, %(last)d
local token = "%(token)s"
math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
function request()
  local account = "a" .. math.random(first, last)
  %(request)s
end
%(delay)s
function done(summary, latency, requests)
  io.write(string.format(
    '{"requests":%%d,"duration_us":%%d,"status":%%d,"connect":%%d,"read":%%d,"write":%%d,"timeout":%%d,'
    .. '"p50_us":%%d,"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""
WRK_REQUESTS = {
    "deduct_credits": ('return wrk.format("POST", "/rpc/deduct_credits", {["Authorization"] = "Bearer " .. token, '
                       '["Content-Type"] = "application/json"}, '
                       '\'{"account_id": "\' .. account .. \'", "feature": "call"}\')'),
    "get_balance": ('return wrk.format("GET", "/rpc/get_balance?account_id=" .. account, '
                    '{["Authorization"] = "Bearer " .. token})'),
}


@dataclass(frozen=True)
class Load:
    """What one timed run of one call at one concurrency gave."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    timeouts: int
    generator_cpu: float  # CPU seconds per wall second the load generator used (1.0 = one core)


def _token(sub: str, role: str) -> str:
    return jwt.encode({"sub": sub, "role": role, "exp": int(time.time()) + 86400}, SECRET, algorithm="HS256")


def wrk(base: str, call: str, connections: int, seconds: int, first: int, last: int, folder: Path,
        rate: float = 0) -> Load:
    """One wrk run of `call` over accounts a[first]..a[last] at `connections`; with `rate` (requests/s over all
    connections), each connection pauses a random 0 to 2 x connections/rate before each request (wrk's delay()),
    users with think time rather than a closed loop at full speed."""
    script = folder / f"{call}-{connections}-{rate:g}.lua"
    pause = round(2000 * connections / rate) if rate else 0
    delay = f"function delay() return math.random(0, {pause}) end" if rate else ""
    script.write_text(WRK_SCRIPT % {"first": first, "last": last, "token": _token("bench", "credits_service"),
                                    "request": WRK_REQUESTS[call], "delay": delay})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([WRK, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", WRK_TIMEOUT,
                          "-s", str(script), base], capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"wrk failed: {out.stderr.strip()[-2000:]}")
    line = next((line for line in reversed(out.stdout.splitlines()) if line.startswith("{")), None)
    if line is None:
        raise SystemExit(f"wrk printed no summary: {out.stdout[-2000:]}")
    got = json.loads(line)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    wall = got["duration_us"] / 1e6
    return Load(got["requests"] / wall, got["p50_us"] / 1000, got["p99_us"] / 1000, got["requests"],
                got["status"] + got["connect"] + got["read"] + got["write"], got["timeout"], cpu / wall)


async def _direct(pool: asyncpg.Pool, call: str, concurrency: int, seconds: int, accounts: int,
                  rate: float = 0) -> Load:
    """`concurrency` coroutines calling `call` directly, back to back (or pausing as wrk() does), for `seconds`."""
    statement = {"deduct_credits": "select ok from credits.deduct_credits(account_id => $1, feature => 'call')",
                 "get_balance": "select count(*) from credits.get_balance(account_id => $1)"}[call]
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            if rate:
                await asyncio.sleep(random.uniform(0, 2 * concurrency / rate))
            account = f"a{random.randint(1, accounts)}"
            start = time.perf_counter()
            try:
                ok = await pool.fetchval(statement, account)
            except (asyncpg.PostgresError, OSError):
                ok = False
            latencies.append((time.perf_counter() - start) * 1000)
            errors += not ok

    cpu = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    # Counted as wrk counts: an answer slower than WRK_TIMEOUT is a timeout, left out of the percentiles.
    limit = float(WRK_TIMEOUT.removesuffix("s")) * 1000
    timely = sorted(latency for latency in latencies if latency <= limit)
    return Load(len(latencies) / wall, percentile(timely, 0.5), percentile(timely, 0.99), len(latencies),
                errors, len(latencies) - len(timely), cpu / wall)


def start_gateway(url: str, workers: int, pool_size: int) -> tuple[subprocess.Popen[bytes], str]:
    """`pgcredits serve --workers N` in its own processes; wait until /ready answers 200."""
    port = free_port()
    command = [sys.executable, "-m", "pgcredits.cli", "serve", "--database-url", as_role(url, GATEWAY_ROLE),
               "--port", str(port), "--workers", str(workers), "--pool-size", str(pool_size)]
    process = subprocess.Popen(command, env={**os.environ, "PGCREDITS_JWT_SECRET": SECRET},
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the gateway exited with status {process.returncode} before it was ready")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                time.sleep(1)  # every worker up, not just the first
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"the gateway did not answer /ready with 200 within 60 s on {base}")


def stop_gateway(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def profile(process: subprocess.Popen[bytes], base: str, seconds: int, accounts: int, folder: Path,
            output: Path) -> list[tuple[str, float, float]]:
    """py-spy samples the gateway's workers during a deduct_credits run at 256 connections; the top frames by own
    time (the frames of every worker added up)."""
    pid = process.pid
    raw = folder / "profile.txt"
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    common = ["--pid", str(pid), "--subprocesses", "--duration", str(seconds), "--rate", "200", "--nonblocking"]
    recorders = [subprocess.Popen([spy, "record", *common, "--format", "raw", "--output", str(raw)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                 subprocess.Popen([spy, "record", *common, "--output", str(output)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    time.sleep(1)
    wrk(base, "deduct_credits", 256, seconds, 1, accounts, folder)
    for recorder in recorders:
        recorder.wait(timeout=120)
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame for frame in stack.split(";") if not frame.startswith("process ")]
        if not frames or not count.isdigit():
            continue
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    print(f"py-spy: {total} samples of the workers of {pid}; top frames by own samples:", file=sys.stderr)
    top = [(frame, count / max(total, 1), inclusive[frame] / max(total, 1)) for frame, count in own.most_common(25)]
    for frame, share, whole in top:
        print(f"  {share:6.1%} own  {whole:6.1%} incl  {frame}", file=sys.stderr)
    return top


# --- events at scale -----------------------------------------------------------------------------------------------


class Streams:
    """`count` /events streams of accounts a1..a[count], each read line by line, on one event loop."""

    def __init__(self, base: str, count: int) -> None:
        self.host, self.port = base.removeprefix("http://").split(":")
        self.count = count
        self.opened = 0
        self.refused: list[str] = []
        self.arrivals: dict[str, asyncio.Queue[float]] = {f"a{i}": asyncio.Queue() for i in range(1, count + 1)}
        self.tasks: list[asyncio.Task[None]] = []
        self.all_open = asyncio.Event()

    async def open(self) -> None:
        for i in range(1, self.count + 1):
            self.tasks.append(asyncio.create_task(self._read(f"a{i}")))
            if i % 50 == 0:
                await asyncio.sleep(0.05)  # do not open 1,000 connections in one burst
        await asyncio.wait_for(self.all_open.wait(), timeout=120)

    async def _read(self, account: str) -> None:
        reader, writer = await asyncio.open_connection(self.host, int(self.port))
        writer.write((f"GET /events HTTP/1.1\r\nHost: {self.host}\r\nAccept: text/event-stream\r\n"
                      f"Authorization: Bearer {_token(account, 'credits_user')}\r\n\r\n").encode())
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            self.refused.append(f"{account}: {status!r}")
            self._count_open()
            return
        opened = False
        try:
            while line := await reader.readline():
                if not opened and line.startswith(b": events of account"):
                    opened = True
                    self._count_open()
                elif line.startswith(b"event: balance_changed"):
                    self.arrivals[account].put_nowait(time.perf_counter())
        finally:
            writer.close()

    def _count_open(self) -> None:
        self.opened += 1
        if self.opened >= self.count:
            self.all_open.set()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def probe(url: str, accounts: list[str], streams: Streams | None, seconds: float, rate: float) -> list[float]:
    """Debit `accounts` directly, round robin, `rate` debits a second, for `seconds`; with `streams`, each debit's
    delivery latency in ms (inf: not delivered within 10 s): its account's next balance_changed minus the moment
    its COMMIT was sent. At 100/s over 1,000 accounts, an account is debited every 10 s: one at a time."""
    latencies: list[float] = []
    pending: set[asyncio.Task[None]] = set()
    async with asyncpg.create_pool(as_role(url, APP_ROLE), min_size=4, max_size=4) as pool:

        async def debit(account: str) -> None:
            async with pool.acquire() as conn:
                transaction = conn.transaction()
                await transaction.start()
                await conn.fetchval("select ok from credits.deduct_credits(account_id => $1, feature => 'call')",
                                    account)
                sent = time.perf_counter()
                await transaction.commit()
            if streams is not None:
                try:
                    arrived = await asyncio.wait_for(streams.arrivals[account].get(), timeout=10)
                    latencies.append((arrived - sent) * 1000)
                except TimeoutError:
                    latencies.append(float("inf"))

        start = time.perf_counter()
        for number in range(int(seconds * rate)):
            await asyncio.sleep(max(0.0, start + number / rate - time.perf_counter()))
            task = asyncio.create_task(debit(accounts[number % len(accounts)]))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
    return sorted(latencies)


def events_run(url: str, base: str, stream_count: int, seconds: int, accounts: int,
               probe_rate: float, folder: Path, rate: float) -> dict[str, Any]:
    """The same load twice, without and then with `stream_count` streams: wrk deduct_credits at 256 connections
    (full speed, or paced at `rate`) on the other accounts, and `probe_rate` debits a second on the streamed
    ones; with the streams, each probe debit's delivery is timed."""
    others = (stream_count + 1, accounts)  # wrk's accounts: never a streamed one
    streamed = [f"a{i}" for i in range(1, stream_count + 1)]

    async def measure(streams: Streams | None) -> tuple[Load, list[float]]:
        loop = asyncio.get_running_loop()
        load = loop.run_in_executor(None, wrk, base, "deduct_credits", EVENTS_WRK_CONNECTIONS, seconds,
                                    *others, folder, rate)
        latencies = await probe(url, streamed, streams, seconds, probe_rate)
        return await load, latencies

    async def with_streams() -> tuple[Load, list[float], Streams]:
        streams = Streams(base, stream_count)
        await streams.open()
        print(f"events: {streams.opened - len(streams.refused)} streams open, {len(streams.refused)} refused",
              file=sys.stderr)
        loaded, latencies = await measure(streams)
        await streams.close()
        return loaded, latencies, streams

    without, _ = asyncio.run(measure(None))
    print(f"events: wrk deduct_credits without streams: {without}", file=sys.stderr)
    loaded, latencies, streams = asyncio.run(with_streams())
    print(f"events: wrk deduct_credits with streams: {loaded}", file=sys.stderr)
    lost = sum(1 for latency in latencies if latency == float("inf"))
    delivered = [latency for latency in latencies if latency != float("inf")]
    return {
        "rate": rate, "probe_rate": probe_rate, "streams": stream_count, "refused": len(streams.refused),
        "debits": len(latencies), "lost": lost,
        "delivery_p50_ms": percentile(delivered, 0.5), "delivery_p99_ms": percentile(delivered, 0.99),
        "delivery_max_ms": delivered[-1] if delivered else 0.0,
        "without": asdict(without), "with": asdict(loaded),
    }


# --- the whole run -------------------------------------------------------------------------------------------------


def run(seconds: int, runs: int, concurrency: list[int], accounts: int, workers: int, pool_size: int,
        streams: int, probe_rate: float, parts: list[str], profile_to: Path | None,
        rate: float = 500) -> dict[str, Any]:
    """Start a database and the gateway, measure; return the medians as plain data."""
    measured: dict[tuple[str, str, int], list[Load]] = {}
    result: dict[str, Any] = {"seconds": seconds, "runs": runs, "accounts": accounts, "workers": workers,
                              "pool_size": pool_size, "load": os.getloadavg(), "rate": rate, "rows": []}
    folder = Path(tempfile.mkdtemp(prefix="pgcredits-bench-wrk-"))
    with bench_database(CATALOG_SETUP % {"accounts": accounts} + GATEWAY_SETUP) as (_, url, _):
        process, base = start_gateway(url, workers, pool_size)
        try:
            if profile_to is not None:
                result["profile"] = profile(process, base, seconds, accounts, folder, profile_to)
            if "rpc" in parts:
                asyncio.run(_rpc_rounds(url, base, seconds, runs, concurrency, accounts, workers * pool_size,
                                        folder, measured))
                if rate:
                    asyncio.run(_rpc_rounds(url, base, seconds, runs, [n for n in concurrency if n >= 256], accounts,
                                            workers * pool_size, folder, measured, rate))
            if "events" in parts:
                result["events"] = [events_run(url, base, streams, seconds, accounts, probe_rate, folder,
                                               load_rate) for load_rate in (0, rate)]
                check_invariants(url)
        finally:
            stop_gateway(process)
    shutil.rmtree(folder, ignore_errors=True)
    for (call, path, n), loads in measured.items():
        median = Load(*(statistics.median(getattr(load, f) for load in loads) for f in Load.__dataclass_fields__))
        result["rows"].append({"call": call, "path": path, "concurrency": n, **asdict(median)})
    result["rows"].sort(key=lambda r: (r["call"], " paced" in r["path"], r["concurrency"], r["path"]))
    return result


async def _rpc_rounds(url: str, base: str, seconds: int, runs: int, concurrency: list[int], accounts: int,
                      connections: int, folder: Path, measured: dict[tuple[str, str, int], list[Load]],
                      rate: float = 0) -> None:
    """Gateway (wrk) and asyncpg direct in turns: per round, per concurrency, each call through each path; with
    `rate`, paced (users with think time, `rate` requests/s offered in all)."""
    paced = f", paced {rate:g}/s" if rate else ""
    async with asyncpg.create_pool(as_role(url, APP_ROLE), min_size=connections, max_size=connections) as pool:
        loop = asyncio.get_running_loop()
        for _ in range(runs):
            for n in concurrency:
                for call in CALLS:
                    for path in (f"gateway (wrk){paced}", f"asyncpg direct{paced}"):
                        if path.startswith("asyncpg direct"):
                            load = await _direct(pool, call, n, seconds, accounts, rate)
                        else:
                            load = await loop.run_in_executor(None, wrk, base, call, n, seconds, 1, accounts, folder,
                                                              rate)
                        measured.setdefault((call, path, n), []).append(load)
                        print(f"{call:15} {path:30} {n:5} concurrent {load.rps:8.0f} req/s p50 {load.p50_ms:8.2f} ms "
                              f"p99 {load.p99_ms:8.2f} ms errors {load.errors} timeouts {load.timeouts} "
                              f"generator CPU {load.generator_cpu:.2f}", file=sys.stderr)
            check_invariants(url)


def markdown(result: dict[str, Any]) -> str:
    """The RPC table (each call through each path at each concurrency, with the ratio) and the events table."""
    def key(row: dict[str, Any]) -> tuple[str, int, str]:
        return row["call"], row["concurrency"], row["path"].partition(",")[2]

    direct = {key(r): r["rps"] for r in result["rows"] if r["path"].startswith("asyncpg direct")}
    load = ", ".join(f"{figure:.1f}" for figure in result["load"])
    lines = [
        f"wrk (2 threads, keep-alive) against `pgcredits serve --workers {result['workers']}` (a pool of "
        f"{result['pool_size']} per worker); asyncpg direct: one uvloop process, a pool of "
        f"{result['workers'] * result['pool_size']} connections, prepared statements. {result['seconds']} s per run, "
        f"median of {result['runs']} runs, {result['accounts']:,} accounts chosen uniformly; load average at the "
        f"start {load} on {os.cpu_count()} cores. Each connection sends its next request when the last is "
        f"answered; \"paced {result['rate']:g}/s\": it first pauses 0 to 2 x connections/{result['rate']:g} s at "
        "random (users with think time, about that many requests/s offered in all). Errors: non-2xx answers and "
        f"socket errors; timeouts: answers slower than {WRK_TIMEOUT}, left out of the percentiles (wrk's way; the "
        "asyncpg side is counted the same way). "
        "Generator CPU: cores the load generator itself used (wrk, or the asyncpg process).",
        "",
        "| call | path | concurrent connections | requests/s | p50 ms | p99 ms | errors | timeouts | generator CPU "
        "| ratio to asyncpg direct |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        ratio = r["rps"] / direct[key(r)] if key(r) in direct else 0
        lines.append(f"| {r['call']} | {r['path']} | {r['concurrency']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} | {r['errors']} | {r['timeouts']} | {r['generator_cpu']:.2f} | {ratio:.2f} |")
    runs = result.get("events")
    if runs:
        lines += [
            "",
            f"Events: {runs[0]['streams']:,} `/events` streams, one per account and token subject. The same load "
            f"twice, without the streams and then with them: a prober debits the streamed accounts directly "
            f"({runs[0]['probe_rate']:g} a second, round robin) while wrk runs deduct_credits at "
            f"{EVENTS_WRK_CONNECTIONS} connections on the other accounts (at full speed, then paced). Delivery: "
            "from the moment the prober sent COMMIT to the balance_changed at the account's stream.",
            "",
            "| wrk load | streams open | probe debits | not delivered in 10 s | delivery p50 ms | delivery p99 ms | "
            "delivery max ms | RPC p50 ms without / with | RPC p99 ms without / with | RPC p99 ratio | "
            "RPC req/s without / with | RPC errors+timeouts without / with |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for events in runs:
            without, loaded = events["without"], events["with"]
            pace = f"paced {events['rate']:g}/s" if events["rate"] else "full speed"
            lines.append(
                f"| {pace} | {events['streams'] - events['refused']:,} | {events['debits']:,} | {events['lost']} | "
                f"{events['delivery_p50_ms']:.1f} | {events['delivery_p99_ms']:.1f} | {events['delivery_max_ms']:.1f} | "
                f"{without['p50_ms']:.1f} / {loaded['p50_ms']:.1f} | {without['p99_ms']:.1f} / {loaded['p99_ms']:.1f} | "
                f"{loaded['p99_ms'] / without['p99_ms']:.2f} | {without['rps']:,.0f} / {loaded['rps']:,.0f} | "
                f"{without['errors'] + without['timeouts']} / {loaded['errors'] + loaded['timeouts']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each timed run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each point (the median is reported)")
    parser.add_argument("--concurrency", default="16,256,1000", help="comma-separated concurrent connections")
    parser.add_argument("--accounts", type=int, default=10000, help="accounts the calls are spread over")
    parser.add_argument("--workers", type=int, default=2, help="gateway worker processes")
    parser.add_argument("--pool-size", type=int, default=8, help="database connections per gateway worker")
    parser.add_argument("--streams", type=int, default=1000, help="/events streams of the events part")
    parser.add_argument("--probe-rate", type=float, default=100,
                        help="debits a second the events prober makes on the streamed accounts")
    parser.add_argument("--only", default="rpc,events", help="comma-separated parts: rpc, events")
    parser.add_argument("--profile", type=Path, help="py-spy flame graph of the workers under load (.svg)")
    parser.add_argument("--rate", type=float, default=500,
                        help="requests/s offered in all by the paced runs (users with think time); 0: none")
    args = parser.parse_args()
    result = run(args.seconds, args.runs, [int(c) for c in args.concurrency.split(",")], args.accounts, args.workers,
                 args.pool_size, args.streams, args.probe_rate, args.only.split(","), args.profile, args.rate)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    sys.exit(main())
