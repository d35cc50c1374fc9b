"""The HTTP gateway (SPEC §5) over real HTTP: uvicorn on a free loopback port, a real database, a login role.

Each test gets a fresh database (`db`) and its own gateway serving it, logged
in as a role that may only SET ROLE to the four caller roles, as deployed.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import jwt
import psycopg
import pytest
import uvicorn

from pgcredits.cluster import Cluster
from pgcredits.gateway import create_app

GATEWAY_ROLE = "pgcredits_gateway_test"
SECRET = "a test secret long enough for HS256 ......"
RETRIES = 3

Connect = Callable[..., psycopg.Connection[Any]]


def token(sub: str | None = "alice", role: str | None = None, *, secret: str = SECRET, expires_in: int = 600,
          **claims: Any) -> str:
    """A signed HS256 token; `role` None leaves the claim out (the gateway then uses credits_user)."""
    payload: dict[str, Any] = {"exp": int(time.time()) + expires_in, **claims}
    if sub is not None:
        payload["sub"] = sub
    if role is not None:
        payload["role"] = role
    return jwt.encode(payload, secret, algorithm="HS256")


def bearer(sub: str | None = "alice", role: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub, role)}"}


SERVICE = bearer("backend", "credits_service")
ADMIN = bearer("ops", "credits_admin")


def exact(response: httpx.Response) -> Any:
    """The JSON body with numbers as Decimal, as the gateway wrote them."""
    return json.loads(response.text, parse_float=Decimal)


@dataclass
class Running:
    """A gateway serving one test database."""

    client: httpx.Client
    base_url: str
    database_url: str

    def post(self, function: str, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post(f"/rpc/{function}", json=body if body is not None else {},
                                headers=SERVICE if headers is None else headers)

    def get(self, function: str, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        return self.client.get(f"/rpc/{function}", params=params, headers=headers)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ensure_gateway_role(pg_cluster: Cluster) -> None:
    """The gateway's login role as docs/gateway.md says to create it: it may SET ROLE to the four, nothing more."""
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as conn:
        if conn.execute("select 1 from pg_roles where rolname = %s", [GATEWAY_ROLE]).fetchone() is None:
            conn.execute(f"create role {GATEWAY_ROLE} login noinherit "
                         "in role credits_user, credits_service, credits_admin, credits_auditor")


def gateway_url(pg_cluster: Cluster, db: str) -> str:
    return f"postgresql://{GATEWAY_ROLE}@127.0.0.1:{pg_cluster.port}/{db.rsplit('/', 1)[1]}"


@contextlib.contextmanager
def serving(database_url: str, **options: Any) -> Iterator[Running]:
    """uvicorn serving create_app(database_url) in a thread on a free loopback port, until the block ends."""
    app = create_app(database_url, **{"jwt_secret": SECRET, "retries": RETRIES, "heartbeat": 0.5,
                                       "probe_interval": 0.5, **options})
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, name="gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the gateway did not start (see the captured log)", pytrace=False)
        time.sleep(0.05)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            yield Running(client, base_url, database_url)
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture
def gateway(pg_cluster: Cluster, db: str, connect: Connect) -> Iterator[Running]:
    """A gateway on a fresh database holding the known catalog (tests.catalog())."""
    _ensure_gateway_role(pg_cluster)
    connect(autocommit=True).execute("select tests.catalog()")
    with serving(gateway_url(pg_cluster, db)) as running:
        yield running


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The `{code, message, details, hint}` body of an error answer with `status`."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details", "hint"}, body
    return body


# --- calls that work ---------------------------------------------------------------------------------------------


def test_service_opens_an_account_and_its_user_reads_the_balance(gateway: Running) -> None:
    opened = gateway.post("open_account", {"account_id": "alice"})
    assert opened.status_code == 200, opened.text
    assert opened.json()["account_id"] == "alice"  # a function returning one row answers an object

    by_get = gateway.get("get_balance", {"account_id": "alice"}, bearer("alice"))
    by_post = gateway.post("get_balance", {"account_id": "alice"}, bearer("alice"))
    assert by_get.status_code == by_post.status_code == 200, (by_get.text, by_post.text)
    rows = exact(by_get)
    assert [(r["credit_type"], r["available"]) for r in rows] == [
        ("analysis", Decimal("0.000000")), ("credits", Decimal("6.000000"))]  # a set answers an array
    assert exact(by_post) == rows
    assert by_get.headers["content-type"].startswith("application/json")


def test_amounts_stay_exact_and_json_parameters_pass_through(gateway: Running) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    grant = gateway.post("grant_credits", {"account_id": "alice", "amount": "0.000001", "source": "promo"})
    assert exact(grant)[0]["available"] == Decimal("6.000001"), grant.text
    check = gateway.post("check_feature", {"account_id": "alice", "feature": "chat",
                                           "units": {"input_tokens": 1201, "output_tokens": 0.5}}, bearer("alice"))
    assert check.status_code == 200, check.text
    assert exact(check)[0]["cost"] == Decimal("0.601250")  # 1201 * 0.0005 + 0.5 * 0.0015, exact
    by_get = gateway.get("check_feature", {"account_id": "alice", "feature": "video", "units": '{"seconds": 3}'},
                         bearer("alice"))
    assert exact(by_get)[0]["cost"] == Decimal("1.500000"), by_get.text


def test_user_deducts_from_own_account(gateway: Running) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    spent = gateway.post("deduct_credits", {"account_id": "alice", "feature": "roast"}, bearer("alice"))
    assert spent.status_code == 200, spent.text
    [row] = exact(spent)
    assert (row["ok"], row["charged"], row["available"]) == (True, Decimal("1.000000"), Decimal("5.000000"))


def test_idempotency_key_header_fills_the_parameter(gateway: Running) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    headers = {**bearer("alice"), "Idempotency-Key": "render-1"}
    first = gateway.post("deduct_credits", {"account_id": "alice", "feature": "roast"}, headers)
    again = gateway.post("deduct_credits", {"account_id": "alice", "feature": "roast"}, headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert exact(first) == exact(again), "a retry with the same key returns the first result"
    assert exact(first)[0]["available"] == Decimal("5.000000")
    history = exact(gateway.post("get_history", {"account_id": "alice"}))
    assert [row["idempotency_key"] for row in history if row["idempotency_key"]] == ["render-1"]

    conflict = gateway.post("deduct_credits", {"account_id": "alice", "feature": "video", "units": {"seconds": 2}},
                            headers)
    assert error(conflict, 409)["code"] == "PT409"
    differing = gateway.post("deduct_credits", {"account_id": "alice", "feature": "roast",
                                                "idempotency_key": "other"}, headers)
    assert "Idempotency-Key" in error(differing, 400)["message"]


# --- 400 -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"account_id": "alice", ', "malformed JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"account_id": "alice", "feature": "roast", "amount": NaN}', "NaN"),
        (b'{"account_id": 42, "feature": "roast"}', "account_id"),
        (b'{"account_id": "alice", "feature": "roast", "units": {}, "amount": true}', "amount"),
        (b'{"account_id": "alice", "feature": "roast", "colour": "red"}', "colour"),
        (b'{"feature": "roast"}', "account_id"),
    ],
    ids=["malformed", "not-an-object", "nan", "wrong-type-text", "wrong-type-number", "unknown", "missing"],
)
def test_bad_requests_are_400_and_name_what_is_wrong(gateway: Running, body: bytes, named: str) -> None:
    response = gateway.client.post("/rpc/deduct_credits", content=body,
                                   headers={**bearer("alice"), "Content-Type": "application/json"})
    assert named in error(response, 400)["message"]


def test_a_value_postgresql_cannot_take_is_400(gateway: Running) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    response = gateway.get("get_history", {"account_id": "alice", "page_size": "lots"}, bearer("alice"))
    body = error(response, 400)
    assert body["code"] == "22P02" and "lots" in body["message"]
    too_big = gateway.post("get_history", {"account_id": "alice", "before_id": 10**30}, bearer("alice"))
    assert error(too_big, 400)["code"].startswith("22")


def test_get_is_only_for_functions_that_change_nothing(gateway: Running) -> None:
    response = gateway.get("deduct_credits", {"account_id": "alice", "feature": "roast"}, bearer("alice"))
    assert error(response, 405)["message"] == "deduct_credits changes data: call it with POST"
    assert response.headers["allow"] == "POST"
    repeated = gateway.client.get("/rpc/get_balance?account_id=alice&account_id=bob", headers=bearer("alice"))
    assert "account_id" in error(repeated, 400)["message"]


# --- 401 -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic YWxpY2U6c2VjcmV0",
        "Bearer not-a-jwt",
        f"Bearer {token('alice', secret='another secret, also long enough ....')}",
        f"Bearer {token('alice', expires_in=-60)}",
        f"Bearer {token('alice', 'postgres')}",
        f"Bearer {token('alice', 'credits_owner')}",
    ],
    ids=["none", "not-bearer", "garbage", "bad-signature", "expired", "superuser-role", "owner-role"],
)
def test_without_a_valid_token_it_is_401(gateway: Running, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = gateway.post("get_balance", {"account_id": "alice"}, headers)
    assert error(response, 401)["code"] == "GW401"
    assert response.headers["www-authenticate"] == "Bearer"
    events = gateway.client.get("/events", headers=headers)
    assert error(events, 401)["code"] == "GW401"


def test_no_role_claim_means_credits_user(gateway: Running) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    assert gateway.get("get_balance", {"account_id": "alice"}, bearer("alice", None)).status_code == 200
    denied = gateway.post("grant_credits", {"account_id": "alice", "amount": 5, "reason": "x"}, bearer("alice", None))
    assert error(denied, 403)["details"] == "role credits_user may not execute it"


# --- 403 and 404 ---------------------------------------------------------------------------------------------------


def test_a_user_may_not_grant_credits(gateway: Running) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    response = gateway.post("grant_credits", {"account_id": "alice", "amount": 100, "reason": "me"}, bearer("alice"))
    body = error(response, 403)
    assert body["code"] == "42501" and "grant_credits" in body["message"]
    balance = exact(gateway.post("get_balance", {"account_id": "alice"}))
    assert [r["available"] for r in balance if r["credit_type"] == "credits"] == [Decimal("6.000000")]


def test_a_user_never_reads_another_users_balance(gateway: Running) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    gateway.post("open_account", {"account_id": "bob"})
    gateway.post("grant_credits", {"account_id": "bob", "amount": "123.456789", "source": "promo"})
    for response in (gateway.get("get_balance", {"account_id": "bob"}, bearer("alice")),
                     gateway.post("get_history", {"account_id": "bob"}, bearer("alice")),
                     gateway.post("deduct_credits", {"account_id": "bob", "feature": "roast"}, bearer("alice"))):
        assert response.status_code in (403, 404), response.text
        assert "129.456789" not in response.text and "123.456789" not in response.text


def test_the_auditor_reads_but_does_not_write(gateway: Running) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    auditor = bearer("audit", "credits_auditor")
    assert gateway.get("get_balance", {"account_id": "alice"}, auditor).status_code == 200
    assert error(gateway.post("deduct_credits", {"account_id": "alice", "feature": "roast"}, auditor), 403)


def test_unknown_function_and_unknown_account_are_404(gateway: Running) -> None:
    for name in ("no_such_function", "catalog", "pg_sleep", "_account", "credits.get_balance"):
        body = error(gateway.post(name, {}), 404)
        assert body["code"] == "GW404", name
    unknown = gateway.get("get_balance", {"account_id": "nobody"}, SERVICE)
    body = error(unknown, 404)
    assert body["code"] == "PT404" and "nobody" in body["message"]


# --- 422 -----------------------------------------------------------------------------------------------------------


def test_invalid_argument_is_422(gateway: Running) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    body = error(gateway.post("grant_credits", {"account_id": "alice", "amount": -5, "source": "promo"}), 422)
    assert body["code"] == "PT422" and body["message"]
    assert error(gateway.post("grant_credits", {"account_id": "alice", "amount": 5}, ADMIN), 422)["hint"]
