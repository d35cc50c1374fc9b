"""`GET /events`: Server-Sent Events of the caller's own account, fed by ONE `LISTEN credits_events` connection.

The NOTIFY payload is `{"account_id", "kind", "seq"}` (seq = credits.events.event_id)
and shows nothing by itself: for every subscriber of that account the event row
is re-read under the subscriber's own role and claims, so row-level security
decides what is sent. When the listening connection drops, notifications sent
meanwhile are lost: once it is back, every subscriber gets `event: resync`
(re-read the balance), and a subscriber too slow to keep up gets the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from pgcredits.gateway.auth import Identity

CHANNEL = "credits_events"
QUEUE_LIMIT = 1000  # notifications waiting for one subscriber; beyond, it is told to resync
RESYNC = "resync"
_EVENT_KIND = re.compile(r"[a-z_]{1,64}")  # an SSE event name: one safe line

log = logging.getLogger("pgcredits.gateway.events")

# Re-reads event `seq` as the caller: its JSON row, or None when the caller may not see it.
Reread = Callable[[Identity, int], Awaitable[str | None]]


@dataclass(frozen=True)
class Notice:
    """One notification for a subscriber, or (kind RESYNC) the order to re-read everything."""

    kind: str
    seq: int | None = None


@dataclass(eq=False)
class Subscriber:
    """An open /events stream of one account."""

    account_id: str
    queue: asyncio.Queue[Notice] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))

    def tell(self, notice: Notice) -> None:
        try:
            self.queue.put_nowait(notice)
        except asyncio.QueueFull:
            # Too slow to keep up: drop what waits, ask for a resync instead.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(Notice(RESYNC))


class EventHub:
    """The process's one LISTEN connection and the subscribers it feeds; `run()` keeps it connected."""

    def __init__(self, database_url: str, *, probe_interval: float = 2.0, on_reconnect: Callable[[], None]) -> None:
        self._url = database_url
        self._probe_interval = probe_interval
        self._on_reconnect = on_reconnect
        self._subscribers: dict[str, set[Subscriber]] = {}
        self.connected = asyncio.Event()

    @property
    def subscriber_count(self) -> int:
        return sum(map(len, self._subscribers.values()))

    @contextlib.contextmanager
    def subscribe(self, account_id: str) -> Iterator[Subscriber]:
        """Receive the notifications of `account_id` while the block runs."""
        subscriber = Subscriber(account_id)
        self._subscribers.setdefault(account_id, set()).add(subscriber)
        try:
            yield subscriber
        finally:
            accounts = self._subscribers.get(account_id, set())
            accounts.discard(subscriber)
            if not accounts:
                self._subscribers.pop(account_id, None)

    async def run(self) -> None:
        """Listen for ever: connect, LISTEN, probe the connection, reconnect with backoff when it drops."""
        delay = 0.2
        ever_connected = False
        while True:
            try:
                conn = await asyncpg.connect(self._url, statement_cache_size=0)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as err:
                log.warning("cannot connect the LISTEN connection (retrying in %.1f s): %s", delay, err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            try:
                await conn.add_listener(CHANNEL, self._notified)
                delay = 0.2
                if ever_connected:
                    log.info("LISTEN connection re-established: subscribers are told to resync")
                    self._on_reconnect()
                    self._broadcast(Notice(RESYNC))
                ever_connected = True
                self.connected.set()
                await self._watch(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as err:
                log.warning("the LISTEN connection dropped: %s", err)
            finally:
                self.connected.clear()
                conn.terminate()

    async def _watch(self, conn: asyncpg.Connection) -> None:
        """Return when `conn` is closed or stops answering a probe."""
        while not conn.is_closed():
            await asyncio.sleep(self._probe_interval)
            await asyncio.wait_for(conn.fetchval("select 1"), timeout=max(self._probe_interval, 2.0))

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            account_id, kind, seq = str(message["account_id"]), str(message["kind"]), int(message["seq"])
            if not _EVENT_KIND.fullmatch(kind):
                raise ValueError(kind)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a %s notification that is not {account_id, kind, seq}: %.200s", CHANNEL, payload)
            return
        for subscriber in self._subscribers.get(account_id, ()):
            subscriber.tell(Notice(kind, seq))

    def _broadcast(self, notice: Notice) -> None:
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.tell(notice)


async def stream(
    hub: EventHub,
    identity: Identity,
    account_id: str,
    reread: Reread,
    *,
    heartbeat: float,
    disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """The SSE text of one subscriber: its account's events as re-read under its role, resyncs, heartbeats."""
    with hub.subscribe(account_id) as subscriber:
        yield f": events of account {json.dumps(account_id)}\nretry: 2000\n\n"
        while True:
            try:
                notice = await asyncio.wait_for(subscriber.queue.get(), timeout=heartbeat)
            except TimeoutError:
                if await disconnected():
                    return
                yield ": heartbeat\n\n"
                continue
            if notice.kind == RESYNC or notice.seq is None:
                yield f"event: {RESYNC}\ndata: {json.dumps({'account_id': account_id})}\n\n"
                continue
            try:
                row = await reread(identity, notice.seq)
            except Exception:  # the database went away meanwhile: the client re-reads instead
                log.warning("could not re-read event %s for %s", notice.seq, account_id, exc_info=True)
                yield f"event: {RESYNC}\ndata: {json.dumps({'account_id': account_id})}\n\n"
                continue
            if row is not None:
                yield f"id: {notice.seq}\nevent: {notice.kind}\ndata: {row}\n\n"
