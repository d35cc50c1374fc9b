"""Prometheus metrics of one gateway app, in its own registry (several apps may share a process, as tests do)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

UNKNOWN_FUNCTION = "<unknown>"  # the label of names outside the catalog, so requests cannot grow the label set


class Metrics:
    """RPC calls per function, method and status; their duration per function; SSE streams and their events."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pgcredits_gateway_rpc_requests",
            "RPC requests by function, HTTP method and status",
            ["function", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "pgcredits_gateway_rpc_duration_seconds",
            "Time to answer an RPC request, by function",
            ["function"],
            registry=self.registry,
        )
        self.retries = Counter(
            "pgcredits_gateway_rpc_retries",
            "Transactions retried after a serialization failure, a deadlock or a lost connection",
            ["function"],
            registry=self.registry,
        )
        self.subscribers = Gauge(
            "pgcredits_gateway_event_subscribers", "Open /events streams", registry=self.registry
        )
        self.streams_refused = Counter(
            "pgcredits_gateway_event_streams_refused",
            "/events streams refused (429): the token's subject had as many open as allowed",
            registry=self.registry,
        )
        self.event_rereads = Counter(
            "pgcredits_gateway_event_rereads",
            "Event rows re-read for /events: one per account and event, however many streams watch it",
            registry=self.registry,
        )
        self.notifications_dropped = Counter(
            "pgcredits_gateway_event_notifications_dropped",
            "Notifications delivered to no stream: stale (a seq at or below the last delivered for its account) "
            "or unseen (no such event of that account)",
            ["reason"],
            registry=self.registry,
        )
        self.listener_reconnects = Counter(
            "pgcredits_gateway_listener_reconnects",
            "Times the LISTEN connection was re-established after it dropped",
            registry=self.registry,
        )

    def observe(self, function: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(function, method, str(status)).inc()
        self.duration.labels(function).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
