"""`GET /events`: Server-Sent Events of the caller's own account, fed by ONE `LISTEN credits_events` connection.

The NOTIFY payload is `{"account_id", "kind", "seq"}` (seq = credits.events.event_id).
Anyone who may connect can send one, so it is trusted for nothing but to say
"look at this account": each account with open streams has one Feed, a task
that re-reads the row (`reread`, under an identity that may see exactly that
account's events), once however many streams watch the account, and fans it
out to them. The event's kind comes from that row, never from the
notification; a seq at or below the last one delivered for the account (or
below what existed when its first stream opened) is dropped unread. When the
listening connection drops, notifications sent meanwhile are lost: once it
is back, every stream gets `event: resync` (re-read the balance), and a
stream too slow to keep up gets the same. docs/decisions.md ("/events under
attack") says why it is built this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

CHANNEL = "credits_events"
# The application_name of the one LISTEN connection (pg_stat_activity tells it from the pools').
LISTEN_APPLICATION = "pgcredits-gateway-listen"
# How often the hub renews its watches, and for how long each holds (credits.watch_events' ttl): a process
# that dies is forgotten within WATCH_TTL.
WATCH_RENEWAL = 30.0
WATCH_TTL = "90 seconds"
# How many delivered seqs a feed remembers (Feed.delivered).
DELIVERED_KEPT = 1000
QUEUE_LIMIT = 1000  # notifications waiting for one account, or deliveries for one stream; beyond, a resync
RESYNC = "resync"
_EVENT_KIND = re.compile(r"[a-z_]{1,64}")  # an SSE event name: one safe line

log = logging.getLogger("pgcredits.gateway.events")

# Re-reads event `seq` of an account: its (kind, JSON row), or None when there is no such event of that account.
Reread = Callable[[str, int], Awaitable[tuple[str, str] | None]]
# The highest event_id of an account now: what a new stream must never be sent.
Watermark = Callable[[str], Awaitable[int]]
# Watch (True) or unwatch (False) these accounts' events (None: every account this process watches).
Watch = Callable[[list[str] | None, bool], Awaitable[None]]


class TooManyStreams(Exception):
    """The token's subject already has as many open streams as allowed (HTTP 429)."""

    def __init__(self, subject: str, limit: int) -> None:
        super().__init__(f"subject {subject} already has {limit} open event streams, the most allowed")
        self.limit = limit


@dataclass(frozen=True)
class Delivery:
    """What one stream is sent: an event as re-read (its seq, kind and row), or (kind RESYNC) a resync."""

    kind: str
    seq: int | None = None
    row: str | None = None

    def sse(self, account_id: str) -> str:
        if self.seq is None or self.row is None:
            return f"event: {RESYNC}\ndata: {json.dumps({'account_id': account_id})}\n\n"
        return f"id: {self.seq}\nevent: {self.kind}\ndata: {self.row}\n\n"


def _bounded_put(queue: asyncio.Queue[Any], item: Any, overflow: Any) -> None:
    """Put `item`; when `queue` is full, drop everything waiting and put `overflow` instead."""
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(overflow)


@dataclass(eq=False)
class Subscriber:
    """An open /events stream: what it is sent waits in its queue."""

    feed: Feed
    subject: str
    queue: asyncio.Queue[Delivery] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    closed: bool = False

    def tell(self, delivery: Delivery) -> None:
        _bounded_put(self.queue, delivery, Delivery(RESYNC))

    def close(self) -> None:
        """Leave the feed and give back the subject's place; again is a no-op."""
        if not self.closed:
            self.closed = True
            self.feed.hub._leave(self)


class Feed:
    """The streams of one account, and the task that re-reads each of its events once for all of them."""

    def __init__(self, hub: EventHub, account_id: str) -> None:
        self.hub = hub
        self.account_id = account_id
        self.subscribers: set[Subscriber] = set()
        self.notices: asyncio.Queue[int | None] = asyncio.Queue(QUEUE_LIMIT)  # seqs; None: resync
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # What a seq must pass to be read: above the newest event when the feed opened (`floor`), and not
        # delivered yet. A set, not a high-water mark: two transactions may commit in the other order than they
        # took their event ids, and the earlier id is a real event too. The set keeps the last DELIVERED_KEPT;
        # what falls out of it raises the floor.
        self.floor = 0
        self.delivered: set[int] = set()
        self.task = asyncio.create_task(self._run(), name=f"pgcredits-feed-{account_id[:50]}")

    def notify(self, seq: int | None) -> None:
        _bounded_put(self.notices, seq, None)

    async def _run(self) -> None:
        try:
            await self.hub.watch([self.account_id], True)
            self.floor = await self.hub.watermark(self.account_id)
        except Exception as err:
            self.started.set_exception(err)
            self.hub._drop_feed(self)
            return
        self.started.set_result(None)
        while True:
            seq = await self.notices.get()
            if seq is None:
                self._fan_out(Delivery(RESYNC))
            elif seq <= self.floor or seq in self.delivered:
                self.hub.on_dropped("stale")
            else:
                await self._deliver(seq)

    async def _deliver(self, seq: int) -> None:
        try:
            self.hub.on_reread()
            found = await self.hub.reread(self.account_id, seq)
        except Exception:  # the database went away meanwhile: the clients re-read instead
            log.warning("could not re-read event %s of %s", seq, self.account_id, exc_info=True)
            self._fan_out(Delivery(RESYNC))
            return
        if found is None or not _EVENT_KIND.fullmatch(found[0]):
            self.hub.on_dropped("unseen")
            return
        self.delivered.add(seq)
        if len(self.delivered) > DELIVERED_KEPT:
            oldest = min(self.delivered)
            self.delivered.discard(oldest)
            self.floor = max(self.floor, oldest)
        self._fan_out(Delivery(found[0], seq, found[1]))

    def _fan_out(self, delivery: Delivery) -> None:
        for subscriber in self.subscribers:
            subscriber.tell(delivery)


class EventHub:
    """The process's one LISTEN connection and the feeds it notifies; `run()` keeps it connected.

    `streams_per_subject`: how many streams one token subject may hold open.
    `reread` and `watermark` read the database (docs/decisions.md says as whom);
    `watch(account_ids, watching)` tells the database which accounts this
    process streams (credits.watch_events / unwatch_events), since only
    watched accounts are notified: a feed watches its account before it
    reads where to start, the hub renews every watch while it runs, and a
    feed's last stream leaving unwatches it;
    `on_reread` and `on_dropped(reason)` count for /metrics.
    """

    def __init__(self, database_url: str, *, reread: Reread, watermark: Watermark, watch: Watch,
                 streams_per_subject: int, probe_interval: float = 2.0, on_reconnect: Callable[[], None],
                 on_reread: Callable[[], None], on_dropped: Callable[[str], None]) -> None:
        self._url = database_url
        self._probe_interval = probe_interval
        self._on_reconnect = on_reconnect
        self.reread = reread
        self.watermark = watermark
        self.watch = watch
        self.on_reread = on_reread
        self.on_dropped = on_dropped
        self.streams_per_subject = streams_per_subject
        self._feeds: dict[str, Feed] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._streams: Counter[str] = Counter()  # open streams per subject
        self.connected = asyncio.Event()

    @property
    def subscriber_count(self) -> int:
        return sum(len(feed.subscribers) for feed in self._feeds.values())

    def has_room(self, subject: str) -> bool:
        return self._streams[subject] < self.streams_per_subject

    async def open(self, subject: str, account_id: str) -> Subscriber:
        """A new stream of `account_id` for a token of `subject`, once its feed knows where to start.

        Raises TooManyStreams, or what the first read of the account's feed raised.
        """
        if not self.has_room(subject):
            raise TooManyStreams(subject, self.streams_per_subject)
        feed = self._feeds.get(account_id)
        if feed is None:
            feed = self._feeds[account_id] = Feed(self, account_id)
        subscriber = Subscriber(feed, subject)
        feed.subscribers.add(subscriber)
        self._streams[subject] += 1
        try:
            await asyncio.shield(feed.started)
        except BaseException:
            subscriber.close()
            raise
        return subscriber

    def _leave(self, subscriber: Subscriber) -> None:
        self._streams[subscriber.subject] -= 1
        if self._streams[subscriber.subject] <= 0:
            del self._streams[subscriber.subject]
        feed = subscriber.feed
        feed.subscribers.discard(subscriber)
        if not feed.subscribers:
            self._drop_feed(feed)
            feed.task.cancel()
            self._unwatch_later(feed.account_id)

    def _unwatch_later(self, account_id: str) -> None:
        """Unwatch an account nobody streams any more, unless a new stream of it came meanwhile."""
        async def unwatch() -> None:
            if account_id not in self._feeds:
                with contextlib.suppress(Exception):  # the watch lapses by itself anyway
                    await self.watch([account_id], False)
        task = asyncio.get_running_loop().create_task(unwatch(), name=f"pgcredits-unwatch-{account_id[:50]}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def renew_watches(self) -> None:
        """Renew the watch of every streamed account, for ever, every WATCH_RENEWAL seconds."""
        while True:
            await asyncio.sleep(WATCH_RENEWAL)
            accounts = list(self._feeds)
            if accounts:
                try:
                    await self.watch(accounts, True)
                except Exception as err:  # noqa: BLE001 (renewed again at the next turn; until then they stand)
                    log.warning("could not renew the watches of %d accounts: %s", len(accounts), err)

    def _drop_feed(self, feed: Feed) -> None:
        if self._feeds.get(feed.account_id) is feed:
            del self._feeds[feed.account_id]

    async def close(self) -> None:
        """Stop every feed's task."""
        tasks = [feed.task for feed in self._feeds.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """Listen for ever: connect, LISTEN, probe the connection, reconnect with backoff when it drops."""
        delay = 0.2
        ever_connected = False
        while True:
            try:
                conn = await asyncpg.connect(self._url, statement_cache_size=0,
                                             server_settings={"application_name": LISTEN_APPLICATION})
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
                    for feed in self._feeds.values():
                        feed.notify(None)
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
            account_id, seq = str(message["account_id"]), int(message["seq"])
            if not 0 < seq < 2**63:  # an event_id is a positive bigint
                raise ValueError(seq)
        except (ValueError, KeyError, TypeError, RecursionError):
            log.warning("ignoring a %s notification that is not {account_id, kind, seq}: %.200s", CHANNEL, payload)
            return
        feed = self._feeds.get(account_id)
        if feed is not None:
            feed.notify(seq)


async def stream(subscriber: Subscriber, *, heartbeat: float, expires_at: float | None,
                 disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[str]:
    """The SSE text of one stream: its account's events, resyncs, heartbeats; it ends when its token expires."""
    account_id = subscriber.feed.account_id
    yield f": events of account {json.dumps(account_id)}\nretry: 2000\n\n"
    while True:
        wait = heartbeat
        if expires_at is not None:
            left = expires_at - time.time()
            if left <= 0:
                subscriber.close()
                yield ": the token has expired: reconnect with a new one\n\n"
                return
            wait = min(wait, left)
        try:
            delivery = await asyncio.wait_for(subscriber.queue.get(), timeout=wait)
        except TimeoutError:
            if expires_at is not None and time.time() >= expires_at:
                continue
            if await disconnected():
                return
            yield ": heartbeat\n\n"
            continue
        yield delivery.sse(account_id)
