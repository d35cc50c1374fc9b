"""Attacks on the gateway over real HTTP (issue 9, items 7 to 15): each refused clearly, nothing changed, never a 500.

Every test names its item. The malformed bodies and query values of items
11 and 15 (deep JSON, lone surrogates) are rows of the 400 tables in
tests/test_gateway.py; what needs more than one request is here. The
design these tests hold the gateway to is written in docs/decisions.md
("The gateway under attack").
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import jwt
import psycopg
import pytest

from pgcredits.cluster import Cluster
from tests.test_gateway import (
    ADMIN,
    SECRET,
    SERVICE,
    Connect,
    EventReader,
    Running,
    _ensure_gateway_role,
    bearer,
    database_stopped,
    error,
    exact,
    gateway_url,
    known_gateway,
    serving,
    stream_opener,
    token,
)

MEGABYTE = 1_000_000
Streams = Callable[[str], EventReader]


@pytest.fixture
def live(pg_cluster: Cluster, db: str, connect: Connect) -> Iterator[Running]:
    """A gateway on a fresh database holding the known catalog (tests/test_gateway.py's)."""
    with known_gateway(pg_cluster, db, connect) as running:
        yield running


@pytest.fixture
def streams(live: Running) -> Iterator[Streams]:
    """Opens /events streams of `live` as users; closed after the test."""
    with stream_opener(live) as open_stream:
        yield open_stream


@pytest.fixture
def prepared(pg_cluster: Cluster, db: str, connect: Connect) -> tuple[psycopg.Connection[Any], str]:
    """For tests that start their own gateway: a superuser connection to `db` (the known catalog loaded,
    alice opened) and the URL the gateway logs in with."""
    _ensure_gateway_role(pg_cluster)
    setup = connect(autocommit=True)
    setup.execute("select tests.catalog(); select credits.open_account('alice')")
    return setup, gateway_url(pg_cluster, db)


def before_insert(table: str, when: str, statement: str) -> str:
    """A trigger on credits_private.`table` that runs `statement` before each insert where `when` holds."""
    name = f"gateway_before_{table}"
    return f"""
create function tests.{name}() returns trigger language plpgsql as $$
begin
  {statement};
  return new;
end
$$;
create trigger {name} before insert on credits_private.{table}
  for each row when ({when}) execute function tests.{name}();
"""


def metric(running: Running, line_start: str) -> float | None:
    """The value of the first /metrics sample whose line starts with `line_start`."""
    for line in running.client.get("/metrics").text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def balance(running: Running, account: str) -> Decimal:
    rows = exact(running.post("get_balance", {"account_id": account}))
    return next(row["available"] for row in rows if row["credit_type"] == "credits")


def raw_exchange(running: Running, head: bytes, parts: Iterable[bytes] = (), *, timeout: float = 10) -> bytes:
    """Send a request head, then `parts`, over a bare socket; the answer, read until the gateway closes.

    Reads as soon as the parts are sent (or the gateway stops taking them),
    without ending the body: an answer that arrives proves the gateway
    answered before the body was complete.
    """
    address = urlsplit(running.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            for part in parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway answered and closed the connection: its answer waits to be read
        answer = b""
        try:
            while chunk := sock.recv(65536):  # until the gateway closes the connection
                answer += chunk
        except TimeoutError:
            if not answer:
                pytest.fail(f"no answer within {timeout} s while the body was incomplete", pytrace=False)
        except ConnectionResetError:
            pass  # closed with our unread bytes: what arrived before stays read
        return answer


def request_head(running: Running, function: str, headers: dict[str, str]) -> bytes:
    host = urlsplit(running.base_url).netloc
    lines = [f"POST /rpc/{function} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             *(f"{name}: {value}" for name, value in {**bearer("alice"), **headers}.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- item 7: HEAD ---------------------------------------------------------------------------------------------------


def expired_hold(conn: psycopg.Connection[Any], account: str) -> int:
    """A hold of `account` that lapsed 50 minutes ago (reserved an hour ago for 10 minutes)."""
    conn.execute("select set_config('credits.now', (now() - interval '1 hour')::text, false)")
    conn.execute("select credits.open_account(%s)", (account,))
    row = conn.execute("select hold_id from credits.reserve_credits(%s, 'roast', ttl => '10 minutes')",
                       (account,)).fetchone()
    conn.execute("reset credits.now")
    assert row is not None
    return int(row[0])


def test_issue9_item7_head_refused_for_volatile_functions(live: Running, connect: Connect) -> None:
    """HEAD is GET without a body: on a function that changes data it is 405, and nothing runs."""
    conn = connect(autocommit=True)
    hold = expired_hold(conn, "alice")

    def status() -> str:
        row = conn.execute("select status from credits.holds where hold_id = %s", (hold,)).fetchone()
        assert row is not None
        return str(row[0])

    assert status() == "held"
    before = balance(live, "alice")
    head = live.client.head("/rpc/expire_holds", headers=SERVICE)
    assert head.status_code == 405, head.status_code
    assert head.headers["allow"] == "POST"
    deduct = live.client.head("/rpc/deduct_credits", params={"account_id": "alice", "feature": "roast"},
                                 headers=bearer("alice"))
    assert deduct.status_code == 405
    assert status() == "held", "HEAD ran expire_holds"
    assert balance(live, "alice") == before, "HEAD ran deduct_credits"
    assert live.post("expire_holds", {}).status_code == 200
    assert status() == "expired", "POST still runs it"


def test_issue9_item7_head_reads_the_query_string_like_get(live: Running) -> None:
    """HEAD on a STABLE function answers GET's status and headers, without the body."""
    live.post("open_account", {"account_id": "alice"})
    by_get = live.get("get_balance", {"account_id": "alice"}, bearer("alice"))
    head = live.client.head("/rpc/get_balance", params={"account_id": "alice"}, headers=bearer("alice"))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == by_get.headers["content-type"]
    assert head.headers["content-length"] == by_get.headers["content-length"]
    other = live.client.head("/rpc/get_balance", params={"account_id": "alice"}, headers=bearer("bob"))
    assert other.status_code == 403
    missing = live.client.head("/rpc/get_balance", headers=bearer("alice"))
    assert missing.status_code == 404, "a missing argument is PGRST202, no such function (SPEC §5a)"
    assert live.client.head("/events", headers=bearer("alice")).status_code == 200
    assert metric(live, "pgcredits_gateway_event_subscribers") == 0, "HEAD /events opened no stream"


# --- item 8: streams per subject, one re-read per event -----------------------------------------------------------


def open_stream_status(running: Running, headers: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
    """The status of GET /events, and its JSON body when it is not a stream; the stream is closed at once."""
    with running.client.stream("GET", "/events", headers=headers) as response:
        if response.headers["content-type"].startswith("application/json"):
            return response.status_code, json.loads(response.read())
        return response.status_code, None


def test_issue9_item8_streams_per_subject_are_limited(live: Running, streams: Streams) -> None:
    """At most PGCREDITS_STREAMS_PER_SUBJECT (10) streams per token subject; the next is 429, with a JSON body."""
    live.post("open_account", {"account_id": "alice"})
    live.post("open_account", {"account_id": "bob"})
    alice = [streams("alice") for _ in range(10)]
    status, body = open_stream_status(live, bearer("alice"))
    assert status == 429, status
    assert body is not None and body["code"] == "GW429" and "10" in body["message"], body
    assert set(body) == {"code", "message", "details", "hint"}
    assert open_stream_status(live, bearer("alice", "credits_service"))[0] == 429, "the subject counts, any role"
    bob = streams("bob")
    live.post("deduct_credits", {"account_id": "alice", "feature": "roast"}, bearer("alice"))
    assert alice[-1].until("balance_changed")[-1]["event"] == "balance_changed", "the open ones still stream"
    alice[0].close()
    deadline = time.monotonic() + 20
    while (reopened := open_stream_status(live, bearer("alice"))[0]) == 429 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert reopened == 200, "a closed stream frees its place"
    bob.close()


def test_issue9_item8_an_event_is_read_once_however_many_streams(live: Running, streams: Streams) -> None:
    """Each event row is re-read once per account and fanned out; /metrics counts the re-reads."""
    live.post("open_account", {"account_id": "alice"})
    live.post("open_account", {"account_id": "bob"})
    readers = [streams("alice") for _ in range(6)]
    bob = streams("bob")
    for _ in range(2):
        assert live.post("deduct_credits", {"account_id": "alice", "feature": "roast"},
                            bearer("alice")).status_code == 200
    delivered = []
    for reader in readers:
        first = reader.until("balance_changed")
        second = reader.until("balance_changed")
        delivered.append([(e["id"], e["event"]) for e in first + second])
    assert all(seen == delivered[0] for seen in delivered), delivered
    assert len(delivered[0]) == 2
    assert metric(live, "pgcredits_gateway_event_rereads_total") == 2.0, "one re-read per event, not per stream"
    assert bob.events.empty(), "bob's stream got alice's events"


# --- item 9: forged notifications --------------------------------------------------------------------------------


def test_issue9_item9_forged_notifications_deliver_nothing(live: Running, streams: Streams,
                                                           connect: Connect) -> None:
    """The kind comes from the re-read row; a seq at or below the last delivered (or already there) is dropped."""
    live.post("open_account", {"account_id": "alice"})
    live.post("open_account", {"account_id": "bob"})
    # A row of bob's that exists whether or not anyone watches him: a refusal (feature_gated).
    live.post("deduct_credits", {"account_id": "bob", "feature": "premium"}, bearer("bob"))
    plain = connect(autocommit=True)
    row = plain.execute("select max(event_id) from credits_private.events where account_id = 'bob'").fetchone()
    assert row is not None
    bobs = int(row[0])
    alice = streams("alice")

    def forge(seq: int, kind: str = "depleted") -> None:
        plain.execute("select pg_notify('credits_events', %s)",
                      (json.dumps({"account_id": "alice", "kind": kind, "seq": seq}),))

    forge(1)
    forge(bobs)  # bob's row, announced as alice's
    forge(10**12)  # no such row
    live.post("deduct_credits", {"account_id": "alice", "feature": "roast"}, bearer("alice"))
    seen = alice.until("balance_changed")
    assert [e["event"] for e in seen] == ["balance_changed"], seen
    delivered = json.loads(seen[0]["data"])
    assert delivered["account_id"] == "alice" and delivered["event_id"] == int(seen[0]["id"]) > bobs

    forge(delivered["event_id"])  # a replay of the event just delivered, as another kind
    forge(delivered["event_id"] + 1, "depleted")  # the next real one, announced as another kind
    live.post("deduct_credits", {"account_id": "alice", "feature": "roast"}, bearer("alice"))
    seen = alice.until("balance_changed")
    assert [e["event"] for e in seen] == ["balance_changed"], seen
    assert int(seen[0]["id"]) > delivered["event_id"]
    # Five forged: 1 and the replay are stale; bob's, 10**12 and the one ahead of its row are unseen. (If the
    # forged next seq is read after its row committed, it is the real notification that comes too late: stale.)
    dropped = [metric(live, f'pgcredits_gateway_event_notifications_dropped_total{{reason="{reason}"}}') or 0
               for reason in ("stale", "unseen")]
    assert sum(dropped) == 5, dropped


def test_issue9_item9_events_committed_out_of_order_both_arrive(live: Running, streams: Streams,
                                                                 connect: Connect) -> None:
    """Dropping replays must not drop real events: a transaction that took the lower event id commits last."""
    live.post("open_account", {"account_id": "alice"})
    live.post("grant_credits", {"account_id": "alice", "amount": 10, "credit_type": "analysis", "source": "promo"})
    alice = streams("alice")
    first, second = connect(), connect()
    for conn in (first, second):
        conn.execute("select set_config('role', 'credits_service', true)")
    first.execute("select * from credits.deduct_credits('alice', 'roast')")  # takes the lower event id, waits
    second.execute("select * from credits.deduct_credits('alice', 'analysis_run')")
    second.commit()
    first.commit()
    seen = [alice.until("balance_changed"), alice.until("balance_changed")]
    credit_types = sorted(json.loads(events[-1]["data"])["credit_type"] for events in seen)
    assert credit_types == ["analysis", "credits"], seen
    assert int(seen[0][-1]["id"]) > int(seen[1][-1]["id"]), "the later id was not the first to arrive"


# --- item 10: streams end with their token ------------------------------------------------------------------------


def test_issue9_item10_a_stream_ends_when_its_token_expires(live: Running) -> None:
    live.post("open_account", {"account_id": "alice"})
    reader = EventReader(live.base_url, {"Authorization": f"Bearer {token('alice', expires_in=3)}"})
    reader._thread.join(20)
    ended = not reader._thread.is_alive()
    reader.close()
    assert ended, "the stream outlived its token"
    assert metric(live, "pgcredits_gateway_event_subscribers") == 0


def test_issue9_item10_require_exp_refuses_tokens_without_exp(prepared: tuple[psycopg.Connection[Any], str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGCREDITS_JWT_REQUIRE_EXP", "1")
    with serving(prepared[1]) as running:
        forever = jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256")
        refused = running.get("get_balance", {"account_id": "alice"}, {"Authorization": f"Bearer {forever}"})
        assert "exp" in error(refused, 401)["message"]
        assert error(running.client.get("/events", headers={"Authorization": f"Bearer {forever}"}), 401)
        assert running.get("get_balance", {"account_id": "alice"}, bearer("alice")).status_code == 200


# --- item 11: deep values coming back ---------------------------------------------------------------------------


def test_issue9_item11_deep_values_coming_back_are_written(live: Running, connect: Connect) -> None:
    """Results are PostgreSQL's own JSON text, passed through: no depth makes the gateway's writer fail.

    (A value stored before the limits, or by SQL directly: 2,000 levels of metadata on an account.)
    """
    live.post("open_account", {"account_id": "alice"})
    connect(autocommit=True).execute(
        "update credits_private.accounts set metadata = jsonb_build_object('deep', "
        "(repeat('[', 2000) || repeat(']', 2000))::jsonb) where account_id = 'alice'")
    again = live.post("open_account", {"account_id": "alice"})
    assert again.status_code == 200, again.text
    assert again.text.count("[" * 2000 + "]" * 2000) == 1, "the 2,000 levels came back whole"


# --- item 12: bodies over 1 MB --------------------------------------------------------------------------------------


def test_issue9_item12_content_length_over_the_limit_is_refused_at_once(live: Running) -> None:
    """A Content-Length above 1 MB is answered 413 before a byte of the body is sent."""
    answer = raw_exchange(live, request_head(live, "deduct_credits", {"Content-Length": str(50 * MEGABYTE)}))
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b'"code":"GW413"' in rest and b"connection: close" in rest.lower()


def test_issue9_item12_chunked_body_is_refused_while_it_streams(live: Running) -> None:
    """A chunked body is counted while it arrives: 413 once past 1 MB, before the body ends."""
    chunk = b" " * 65536
    parts = (b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(18))  # 1.2 MB, and no last chunk
    answer = raw_exchange(live, request_head(live, "deduct_credits", {"Transfer-Encoding": "chunked"}), parts)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]


def test_issue9_item12_chunked_body_from_httpx_stops_being_read(live: Running) -> None:
    """httpx sending 50 MB from a generator: the gateway answers 413 and stops reading long before the end."""
    live.post("open_account", {"account_id": "alice"})
    sent = 0
    total = 50 * MEGABYTE

    def body() -> Iterator[bytes]:
        nonlocal sent
        chunk = b" " * 65536
        while sent < total:
            sent += len(chunk)
            yield chunk

    response = live.client.post("/rpc/deduct_credits", content=body(),
                                   headers={**bearer("alice"), "Content-Type": "application/json"})
    print(f"the client sent {sent} of {total} bytes before the gateway's 413 stopped it")
    assert error(response, 413)["code"] == "GW413"
    # What the kernel buffers on loopback (a few MB each way) is read by nobody; far less than 50 MB.
    assert sent < total // 2, f"the client sent {sent} bytes"
    assert balance(live, "alice") == Decimal("6.000000")


# --- item 13: one-column results are objects --------------------------------------------------------------------


def test_issue9_item13_one_column_results_are_objects(live: Running) -> None:
    """Functions declared `returns table (one_column ...)` answer [{"one_column": ...}], as /openapi.json says."""
    live.post("open_account", {"account_id": "alice", "plan": "pro"})
    [hold] = exact(live.post("reserve_credits", {"account_id": "alice", "feature": "roast"}))
    [grant] = exact(live.post("grant_credits", {"account_id": "alice", "amount": 2, "source": "promo"}))
    calls = {
        "release_hold": ({"hold_id": hold["hold_id"]}, SERVICE, {"released": Decimal("1.000000")}),
        "void_grant": ({"grant_id": grant["grant_id"], "reason": "test"}, ADMIN, {"voided": Decimal("2.000000")}),
        "expire_grants": ({}, SERVICE, {"grants_expired": 0}),
        "expire_holds": ({}, SERVICE, {"holds_released": 0}),
        "grant_daily_credits": ({}, SERVICE, {"accounts_granted": 0}),
        "grant_subscriber_monthly_credits": ({"account_id": "alice"}, SERVICE, {"grant_id": 1}),
    }
    paths = live.client.get("/openapi.json").json()["paths"]
    for function, (body, headers, expected) in calls.items():
        response = live.post(function, body, headers)
        assert response.status_code == 200, (function, response.text)
        schema = paths[f"/rpc/{function}"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["type"] == "array" and schema["items"]["type"] == "object", (function, schema)
        [row] = exact(response)
        assert isinstance(row, dict), (function, response.text)
        assert list(row) == list(schema["items"]["properties"]) == list(expected), (function, row)
        if function != "grant_subscriber_monthly_credits":  # its grant_id is whatever the monthly grant got
            assert row == expected, (function, row)


# --- item 14: Idempotency-Key headers ---------------------------------------------------------------------------


def test_issue9_item14_non_ascii_idempotency_key_header_is_refused(live: Running) -> None:
    """A key outside printable ASCII in the header is 400 (never read as latin-1: one key, not two)."""
    live.post("open_account", {"account_id": "alice"})
    headers: dict[str, Any] = {**bearer("alice"), "Idempotency-Key": "ключ-1".encode()}
    refused = live.client.post("/rpc/deduct_credits", json={"account_id": "alice", "feature": "roast"},
                                  headers=headers)
    body = error(refused, 400)
    assert body["code"] == "GW400" and "Idempotency-Key" in body["message"], body
    assert balance(live, "alice") == Decimal("6.000000")
    in_body = {"account_id": "alice", "feature": "roast", "idempotency_key": "ключ-1"}
    first = live.post("deduct_credits", in_body, bearer("alice"))
    again = live.post("deduct_credits", in_body, bearer("alice"))
    assert exact(first) == exact(again) and balance(live, "alice") == Decimal("5.000000")


def test_issue9_item14_two_idempotency_key_headers_are_refused(live: Running) -> None:
    live.post("open_account", {"account_id": "alice"})
    for values in (["k1", "k2"], ["k1", "k1"]):
        headers = [*bearer("alice").items(), *(("Idempotency-Key", value) for value in values)]
        refused = live.client.post("/rpc/deduct_credits", json={"account_id": "alice", "feature": "roast"},
                                      headers=headers)
        body = error(refused, 400)
        assert body["code"] == "GW400" and "Idempotency-Key" in body["message"], body
    assert balance(live, "alice") == Decimal("6.000000")


# --- item 15: smaller ---------------------------------------------------------------------------------------------


def test_issue9_item15_ready_does_not_show_the_database_address(pg_cluster: Cluster, live: Running) -> None:
    with database_stopped(pg_cluster):
        ready = live.client.get("/ready")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable"}, ready.text
        assert str(pg_cluster.port) not in ready.text and "127.0.0.1" not in ready.text


def test_issue9_item15_echoed_values_are_truncated(live: Running) -> None:
    """No answer echoes a value whole: a 60-byte body never comes back as 131 kB."""
    live.post("open_account", {"account_id": "alice"})
    for body, by_gateway in (
        (b'{"account_id":"alice","feature":"roast","amount":1e131071}', False),  # PostgreSQL's message, capped
        (json.dumps({"account_id": ["a" * 100_000], "feature": "roast"}).encode(), True),
        (json.dumps({"account_id": "alice", "feature": "roast", "k" * 100_000: 1}).encode(), True),
    ):
        response = live.client.post("/rpc/deduct_credits", content=body,
                                       headers={**SERVICE, "Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, response.text[:300]
        assert len(response.content) < 2000, f"{len(response.content)} bytes for a {len(body)}-byte body"
        if by_gateway:
            assert "…" in response.json()["message"], response.text[:300]
    assert balance(live, "alice") == Decimal("6.000000")


def test_issue9_item15_statement_timeout_is_504_and_changes_nothing(prepared: tuple[psycopg.Connection[Any], str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """PGCREDITS_STATEMENT_TIMEOUT bounds a user's statement; trusted roles have their own, longer one."""
    setup, url = prepared
    setup.execute("select credits.open_account('slowpoke')")
    setup.execute(before_insert("ledger_entries", "new.account_id = 'slowpoke'", "perform pg_sleep(1)"))
    monkeypatch.setenv("PGCREDITS_STATEMENT_TIMEOUT", "200ms")
    with serving(url) as running:
        slow = running.post("deduct_credits", {"account_id": "slowpoke", "feature": "roast"}, bearer("slowpoke"))
        body = error(slow, 504)
        assert body["code"] == "57014" and "200ms" in body["message"], body
        assert balance(running, "slowpoke") == Decimal("6.000000"), "the cancelled call changed something"
        backend = running.post("deduct_credits", {"account_id": "slowpoke", "feature": "roast"}, SERVICE)
        assert backend.status_code == 200, backend.text
        assert balance(running, "slowpoke") == Decimal("5.000000")


def test_issue9_item15_statement_timeout_setting_is_checked_at_start(pg_cluster: Cluster, db: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad PGCREDITS_STATEMENT_TIMEOUT stops the gateway at start-up, not every request."""
    from pgcredits.gateway import create_app

    monkeypatch.setenv("PGCREDITS_STATEMENT_TIMEOUT", "five seconds")
    with pytest.raises(ValueError, match="PGCREDITS_STATEMENT_TIMEOUT"):
        create_app(gateway_url(pg_cluster, db), jwt_secret=SECRET)


def test_issue9_item8_rereads_do_not_wait_for_rpc_connections(prepared: tuple[psycopg.Connection[Any], str],
                                                              connect: Connect) -> None:
    """Re-reads have their own small pool: with every RPC connection busy, events still arrive."""
    setup, url = prepared
    setup.execute(before_insert("accounts", "new.account_id like 'blocked%'", "perform pg_advisory_xact_lock(4242)"))
    lock = connect(autocommit=True)
    lock.execute("select pg_advisory_lock(4242)")
    with serving(url, pool_size=2) as running:
        alice = EventReader(running.base_url, bearer("alice"))
        statuses: list[int] = []
        busy = [threading.Thread(target=lambda n=n: statuses.append(
            running.post("open_account", {"account_id": f"blocked_{n}"}).status_code)) for n in range(2)]
        for thread in busy:
            thread.start()
        deadline = time.monotonic() + 20
        while setup.execute("select count(*) from pg_locks where locktype = 'advisory' and not granted"
                            ).fetchone() != (2,):
            assert time.monotonic() < deadline, "the two calls did not reach the lock"
            time.sleep(0.05)
        setup.execute("select credits.deduct_credits('alice', 'roast')")  # a change made outside the gateway
        _, event = alice.next(timeout=10)
        assert event["event"] == "balance_changed", "delivered while both RPC connections wait on the lock"
        lock.execute("select pg_advisory_unlock(4242)")
        for thread in busy:
            thread.join(30)
        alice.close()
    assert statuses == [200, 200]


def test_issue9_item11_64_levels_and_brackets_in_strings_are_accepted(live: Running) -> None:
    """The depth limit counts arrays and objects, not brackets inside strings: 64 levels pass the gateway."""
    live.post("open_account", {"account_id": "alice"})
    sixty_four = '{"a": ' + "[" * 63 + "]" * 63 + "}"
    brackets = json.dumps({"note": "[" * 500 + "{" * 500})
    for metadata in (sixty_four, brackets):
        response = live.client.post(
            "/rpc/deduct_credits", headers={**bearer("alice"), "Content-Type": "application/json"},
            content=f'{{"account_id": "alice", "feature": "roast", "metadata": {metadata}}}'.encode())
        assert response.status_code == 200 or response.json()["code"] != "GW400", response.text[:300]
    by_get = live.get("check_feature", {"account_id": "alice", "feature": "roast", "units": "[" * 64 + "]" * 64},
                         bearer("alice"))
    assert by_get.status_code == 200 or by_get.json()["code"] != "GW400", by_get.text[:300]
