"""`pgcredits serve --workers N`: N gateway processes on one port, each with its own listening socket.

uvicorn's own workers share one listening socket, and whichever process is
least busy at that instant accepts: under a burst of connections one worker
took most of them (with 256 keep-alive connections its requests waited on
its own pool while the other worker's pool idled: the p99 and the timeouts
of docs/benchmarks.md). Here each worker binds its own socket with
SO_REUSEPORT, so the kernel spreads new connections evenly over them.

The sockets are bound here, before any worker starts, so a taken port is
one error at once. Each worker is a fresh process (spawned) that builds the
app from the environment (`app.app_from_environment`: DATABASE_URL and the
PGCREDITS_* settings) with its own pools and LISTEN connection. A worker
that dies is started again; SIGINT or SIGTERM stops them all gracefully.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType

log = logging.getLogger("pgcredits.gateway.workers")
BACKLOG = 4096
RESTART_PAUSE = 1.0  # seconds before a worker that died is started again
STARTUP_SECONDS = 10.0  # a worker that exits sooner after its start failed to start: everything stops


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on (host, port) that other sockets of this user may share (SO_REUSEPORT)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def _worker(sock: socket.socket, access_log: bool) -> None:
    """One worker: uvicorn on uvloop and httptools, serving the environment's app on its own socket."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config("pgcredits.gateway.app:app_from_environment", factory=True, host=host, port=port,
                            loop="uvloop", http="httptools", access_log=access_log, log_level="info",
                            timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(host: str, port: int, workers: int, *, access_log: bool) -> None:
    """Run `workers` processes on (host, port) until SIGINT or SIGTERM; restart any that dies meanwhile."""
    sockets = [listening_socket(host, port) for _ in range(workers)]
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start(index: int) -> BaseProcess:
        process = context.Process(target=_worker, args=(sockets[index], access_log), name=f"pgcredits-gateway-{index}")
        process.start()
        return process

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start(index) for index in range(workers)]
    started = [time.monotonic()] * workers
    log.info("serving on %s:%d with %d workers (pids %s)", host, port, workers, [p.pid for p in processes])
    try:
        while not stopping:
            multiprocessing.connection.wait([p.sentinel for p in processes], timeout=0.5)
            for index, process in enumerate(processes):
                if stopping or process.is_alive():
                    continue
                if time.monotonic() - started[index] < STARTUP_SECONDS:
                    raise SystemExit(f"gateway worker {index} exited with {process.exitcode} as it started "
                                     "(its log says why)")
                log.warning("worker %d (pid %s) exited with %s: starting it again", index, process.pid,
                            process.exitcode)
                time.sleep(RESTART_PAUSE)
                processes[index], started[index] = start(index), time.monotonic()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
        for sock in sockets:
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
