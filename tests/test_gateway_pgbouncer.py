"""The gateway behind PgBouncer in transaction mode (SPEC §5): calls through the pooler, LISTEN beside it.

Its login role connects through PgBouncer 1.18 (transaction pooling, 4
server connections, round robin), with prepared statements off
(PGCREDITS_PREPARED_STATEMENTS=0); the one LISTEN connection of /events goes
to PostgreSQL itself (`listen_url`), since a transaction pooler cannot
carry LISTEN. 12 users call at once, each only ever answered with her own
account; a balance change still reaches the stream.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from pgcredits.cluster import Cluster, free_port
from tests.pgbouncer import running
from tests.test_gateway import (
    GATEWAY_ROLE,
    SERVICE,
    EventReader,
    Running,
    _ensure_gateway_role,
    bearer,
    gateway_url,
    serving,
)

USERS = [f"pb_{i}" for i in range(12)]


@pytest.fixture
def pooled(pg_cluster: Cluster, db: str, connect: Callable[..., psycopg.Connection[Any]]) -> Iterator[Running]:
    _ensure_gateway_role(pg_cluster)
    setup = connect(autocommit=True)
    setup.execute("select tests.catalog()")
    for user in USERS:
        setup.execute("select credits.open_account(%s)", (user,))
    with running(pg_cluster, free_port(), users=(GATEWAY_ROLE,)) as bouncer:
        # PgBouncer 1.18 in transaction mode cannot keep prepared statements: the setting docs/gateway.md says.
        with serving(bouncer.url(db.rsplit("/", 1)[1], GATEWAY_ROLE), listen_url=gateway_url(pg_cluster, db),
                     prepared_statements=False) as gateway:
            yield gateway


def test_calls_through_pgbouncer_keep_every_identity_apart(pooled: Running) -> None:
    problems: list[str] = []

    def user(sub: str) -> None:
        with httpx.Client(base_url=pooled.base_url, timeout=30) as client:
            for _ in range(6):  # the free plan's 6 signup credits
                own = client.get("/rpc/get_balance", params={"account_id": sub}, headers=bearer(sub))
                if own.status_code != 200:
                    problems.append(f"{sub}: {own.status_code} {own.text}")
                spent = client.post("/rpc/deduct_credits", json={"account_id": sub, "feature": "roast"},
                                    headers=bearer(sub))
                if spent.status_code != 200 or not spent.json()[0]["ok"]:
                    problems.append(f"{sub} could not spend: {spent.text}")
                history = client.get("/rpc/get_history", params={"account_id": sub}, headers=bearer(sub))
                accounts = {row["account_id"] for row in history.json()}
                if accounts != {sub}:
                    problems.append(f"{sub} was shown the history of {sorted(accounts)}")
                other = USERS[(USERS.index(sub) + 1) % len(USERS)]
                stolen = client.get("/rpc/get_balance", params={"account_id": other}, headers=bearer(sub))
                if stolen.status_code not in (403, 404):
                    problems.append(f"{sub} read {other}'s balance: {stolen.status_code} {stolen.text}")

    threads = [threading.Thread(target=user, args=(sub,)) for sub in USERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
    for sub in USERS:  # each spent exactly her own 6 credits
        balances = {row["credit_type"]: row for row in pooled.get("get_balance", {"account_id": sub}, SERVICE).json()}
        assert (balances["credits"]["available"], balances["credits"]["used_this_period"]) == (0, 6), sub


def test_events_still_stream_behind_pgbouncer(pooled: Running) -> None:
    reader = EventReader(pooled.base_url, bearer("pb_0"))
    try:
        spent = pooled.post("deduct_credits", {"account_id": "pb_0", "feature": "roast"}, bearer("pb_0"))
        assert spent.status_code == 200, spent.text
        _, event = reader.next(timeout=5)
        assert event["event"] == "balance_changed"
        assert json.loads(event["data"])["account_id"] == "pb_0"
    finally:
        reader.close()
