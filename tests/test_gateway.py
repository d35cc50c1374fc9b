"""The HTTP gateway (SPEC §5) over real HTTP: uvicorn on a free loopback port, a real database, a login role.

Each test gets a fresh database (`db`) and its own gateway serving it, logged
in as a role that may only SET ROLE to the four caller roles, as deployed.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import queue
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
from cryptography.hazmat.primitives.asymmetric import rsa

from pgcredits.cluster import Cluster, free_port
from pgcredits.gateway import create_app
from tests.test_hostile_input import SNAPSHOT

GATEWAY_ROLE = "pgcredits_gateway_test"
SECRET = "a test secret long enough for HS256 ......"
RETRIES = 3

Connect = Callable[..., psycopg.Connection[Any]]


def token(sub: str | None = "alice", role: str | None = None, *, secret: str = SECRET, expires_in: int = 86400,
          **claims: Any) -> str:
    """A signed HS256 token; `role` None leaves the claim out (the gateway then uses credits_user).

    Valid a day by default: SERVICE and ADMIN below are minted when the module is imported, and a whole
    `make test` on a loaded machine has taken more than the 10 minutes they once had.
    """
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


def _ensure_gateway_role(pg_cluster: Cluster) -> None:
    """The gateway's login role as docs/gateway.md says to create it: it may SET ROLE to the four, nothing more."""
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as conn:
        if conn.execute("select 1 from pg_roles where rolname = %s", [GATEWAY_ROLE]).fetchone() is None:
            conn.execute(f"create role {GATEWAY_ROLE} login noinherit "
                         "in role credits_user, credits_service, credits_admin, credits_auditor")


def gateway_url(pg_cluster: Cluster, db: str) -> str:
    return f"postgresql://{GATEWAY_ROLE}@127.0.0.1:{pg_cluster.port}/{db.rsplit('/', 1)[1]}"


@contextlib.contextmanager
def serving(database_url: str, *, port: int | None = None, **options: Any) -> Iterator[Running]:
    """uvicorn serving create_app(database_url) in a thread on `port` (a free loopback one), until the block ends."""
    app = create_app(database_url, **{"jwt_secret": SECRET, "retries": RETRIES, "heartbeat": 0.5,
                                       "probe_interval": 0.5, **options})
    port = port or free_port()
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


@contextlib.contextmanager
def known_gateway(pg_cluster: Cluster, db: str, connect: Connect) -> Iterator[Running]:
    """A gateway on a fresh database holding the known catalog (tests.catalog())."""
    _ensure_gateway_role(pg_cluster)
    connect(autocommit=True).execute("select tests.catalog()")
    with serving(gateway_url(pg_cluster, db)) as running:
        yield running


@pytest.fixture
def gateway(pg_cluster: Cluster, db: str, connect: Connect) -> Iterator[Running]:
    """known_gateway for the test."""
    with known_gateway(pg_cluster, db, connect) as running:
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


def nested(levels: int, inner: str = "1") -> str:
    """`inner` inside `levels` JSON arrays: a value nested `levels` deep."""
    return "[" * levels + inner + "]" * levels


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
        # issue 9 item 11: nesting deeper than 64 levels, in any parameter (and in the body itself)
        (f'{{"account_id": "alice", "feature": "video", "units": {{"seconds": {nested(64)}}}}}'.encode(),
         "parameter units is nested deeper than 64 levels"),
        (f'{{"account_id": "alice", "feature": "video", "units": {{"seconds": {nested(600)}}}}}'.encode(),
         "parameter units is nested deeper than 64 levels"),
        (f'{{"account_id": "alice", "feature": "roast", "metadata": {{"a": {nested(5000)}}}}}'.encode(),
         "parameter metadata is nested deeper than 64 levels"),
        (('{"account_id": ' + nested(100, '"x"') + ', "feature": "roast"}').encode(),
         "parameter account_id is nested deeper than 64 levels"),
        (f'{{"feature": "roast", "{nested(40, "")}": {nested(100)}}}'.encode(), "is nested deeper than 64 levels"),
        (nested(5000).encode(), "the body is nested deeper than 64 levels"),
        # issue 9 item 15: a lone surrogate is not text, wherever it is
        (b'{"account_id": "\\ud800", "feature": "roast"}', "parameter account_id of deduct_credits holds a lone surrogate"),
        (b'{"account_id": "alice", "feature": "roast", "metadata": {"\\udc00": 1}}',
         "parameter metadata of deduct_credits holds a lone surrogate"),
        (b'{"account_id": "alice", "feature": "roast", "\\ud800": 1}', "has no parameter \\ud800"),
        (b'{"account_id": "\xed\xa0\x80", "feature": "roast"}', "not UTF-8"),
    ],
    ids=["malformed", "not-an-object", "nan", "wrong-type-text", "wrong-type-number", "unknown", "missing",
         "issue9-item11-units-65-deep", "issue9-item11-units-601-deep", "issue9-item11-metadata-5001-deep",
         "issue9-item11-text-parameter-deep", "issue9-item11-brackets-in-a-key", "issue9-item11-body-deep",
         "issue9-item15-lone-surrogate", "issue9-item15-lone-surrogate-in-a-json-key",
         "issue9-item15-lone-surrogate-in-a-parameter-name", "issue9-item15-surrogate-bytes"],
)
def test_bad_requests_are_400_and_name_what_is_wrong(gateway: Running, connect: Connect, request: pytest.FixtureRequest,
                                                     body: bytes, named: str) -> None:
    """Refused before any SQL runs. PostgREST's codes where PostgREST raises them (SPEC §5a): a body that is no
    JSON object is 400 PGRST102, an unknown or missing parameter 404 PGRST202 (no such function); the gateway's
    own checks (types, depth, lone surrogates) are 400 GW400."""
    conn = connect(autocommit=True)
    conn.execute("select credits.open_account('alice')")
    before = conn.execute(SNAPSHOT).fetchone()
    response = gateway.client.post("/rpc/deduct_credits", content=body,
                                   headers={**bearer("alice"), "Content-Type": "application/json"})
    case = request.node.callspec.id
    status, code = {"malformed": (400, "PGRST102"), "not-an-object": (400, "PGRST102"), "nan": (400, "PGRST102"),
                    "issue9-item15-surrogate-bytes": (400, "PGRST102"), "unknown": (404, "PGRST202"),
                    "missing": (404, "PGRST202"),
                    "issue9-item15-lone-surrogate-in-a-parameter-name": (404, "PGRST202")}.get(case, (400, "GW400"))
    refused = error(response, status)
    assert refused["code"] == code and named in refused["message"], refused
    assert conn.execute(SNAPSHOT).fetchone() == before


@pytest.mark.parametrize(
    ("units", "named"),
    [
        (f'{{"seconds": {nested(64)}}}', "parameter units is nested deeper than 64 levels"),
        (nested(5000), "parameter units is nested deeper than 64 levels"),
    ],
    ids=["issue9-item11-query-units-65-deep", "issue9-item11-query-units-5000-deep"],
)
def test_bad_query_values_are_400_and_name_what_is_wrong(gateway: Running, units: str, named: str) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    response = gateway.get("check_feature", {"account_id": "alice", "feature": "video", "units": units},
                           bearer("alice"))
    refused = error(response, 400)
    assert refused["code"] == "GW400" and named in refused["message"], refused


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
    code = "PGRST302" if authorization is None else "PGRST301"  # PostgREST's: no token, or a token refused
    assert error(response, 401)["code"] == code
    assert response.headers["www-authenticate"] == "Bearer"
    events = gateway.client.get("/events", headers=headers)
    assert error(events, 401)["code"] == code


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
        assert body["code"] == "PGRST202", name  # PostgREST's "no such function" (SPEC §5a)
    unknown = gateway.get("get_balance", {"account_id": "nobody"}, SERVICE)
    body = error(unknown, 404)
    assert body["code"] == "PT404" and "nobody" in body["message"]


# --- 422 -----------------------------------------------------------------------------------------------------------


def test_invalid_argument_is_422(gateway: Running) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    body = error(gateway.post("grant_credits", {"account_id": "alice", "amount": -5, "source": "promo"}), 422)
    assert body["code"] == "PT422" and body["message"]
    assert error(gateway.post("grant_credits", {"account_id": "alice", "amount": 5}, ADMIN), 422)["hint"]


# --- 503 and 500 ---------------------------------------------------------------------------------------------------

# Only functions in `credits` are reachable, so the failures are provoked inside one: a trigger on the private
# accounts table raises the SQLSTATE from the server when open_account inserts an account named doomed_*. The
# sequence counts attempts (nextval survives the rollback), so the retries themselves are seen.
FAILING_TRIGGER = """
create sequence tests.gateway_attempts;
grant usage on sequence tests.gateway_attempts to public;
create function tests.gateway_fail() returns trigger language plpgsql as $$
declare
  v_attempt bigint := nextval('tests.gateway_attempts');
begin
  if new.account_id = 'doomed_deadlock' then
    raise exception 'deadlock detected (attempt %)', v_attempt using errcode = '40P01';
  elsif new.account_id = 'doomed_flaky' and v_attempt <= 2 then
    raise exception 'could not serialize access (attempt %)', v_attempt using errcode = '40001';
  elsif new.account_id = 'doomed_internal' then
    raise exception 'secret internal detail: relation credits_private.accounts'
      using errcode = 'XX000', detail = 'internal detail', hint = 'internal hint';
  end if;
  return new;
end
$$;
create trigger gateway_fail before insert on credits_private.accounts
  for each row when (new.account_id like 'doomed%') execute function tests.gateway_fail();
"""


@pytest.fixture
def failing(gateway: Running, connect: Connect) -> Callable[[], int]:
    """The trigger above; returns a function telling how many attempts it saw."""
    conn = connect(autocommit=True)
    conn.execute(FAILING_TRIGGER)

    def attempts() -> int:
        row = conn.execute("select last_value, is_called from tests.gateway_attempts").fetchone()
        assert row is not None
        return int(row[0]) if row[1] else 0

    return attempts


def test_deadlock_is_retried_then_503(gateway: Running, failing: Callable[[], int]) -> None:
    response = gateway.post("open_account", {"account_id": "doomed_deadlock"})
    body = error(response, 503)
    assert body["code"] == "40P01"
    assert response.headers["retry-after"] == "1"
    assert failing() == RETRIES + 1, "the whole transaction was tried once and retried RETRIES times"
    assert error(gateway.post("get_balance", {"account_id": "doomed_deadlock"}), 404)["code"] == "PT404"


def test_serialization_failure_is_retried_until_it_succeeds(gateway: Running, failing: Callable[[], int]) -> None:
    response = gateway.post("open_account", {"account_id": "doomed_flaky"})
    assert response.status_code == 200, response.text
    assert failing() == 3
    metrics = gateway.client.get("/metrics").text
    assert 'pgcredits_gateway_rpc_retries_total{function="open_account"} 2.0' in metrics


def test_unexpected_error_is_500_without_internals(gateway: Running, failing: Callable[[], int]) -> None:
    response = gateway.post("open_account", {"account_id": "doomed_internal"})
    assert error(response, 500) == {"code": "GW500", "message": "internal error", "details": None,
                                    "hint": "the gateway's log says more"}
    assert "secret" not in response.text and "internal detail" not in response.text
    assert failing() == 1, "not retried"


# --- documentation and operations ----------------------------------------------------------------------------------


def test_openapi_is_built_from_the_catalog(gateway: Running, connect: Connect) -> None:
    response = gateway.client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    comment = connect().execute(
        "select obj_description('credits.deduct_credits(text, text, jsonb, text, jsonb, numeric)'::regprocedure)"
    ).fetchone()
    assert comment is not None and comment[0]
    deduct = document["paths"]["/rpc/deduct_credits"]
    assert set(deduct) == {"post"}, "changes data: no GET"
    assert comment[0] in deduct["post"]["description"]
    schema = deduct["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert list(schema["properties"]) == ["account_id", "feature", "units", "idempotency_key", "metadata", "amount"]
    assert schema["required"] == ["account_id", "feature"]
    assert set(document["paths"]["/rpc/get_balance"]) == {"get", "post"}
    functions = connect().execute(
        "select array_agg(proname::text order by proname) from pg_proc where pronamespace = 'credits'::regnamespace"
    ).fetchone()
    assert functions is not None
    assert sorted(p.removeprefix("/rpc/") for p in document["paths"] if p.startswith("/rpc/")) == functions[0]


def test_live_ready_and_metrics(gateway: Running) -> None:
    assert gateway.client.get("/live").json() == {"status": "live"}
    ready = gateway.client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    gateway.post("open_account", {"account_id": "alice"})
    gateway.get("get_balance", {"account_id": "alice"}, bearer("alice"))
    gateway.get("get_balance", {"account_id": "alice"}, bearer("alice"))
    gateway.post("grant_credits", {"account_id": "alice", "amount": 1}, bearer("alice"))
    gateway.post("whatever", {})
    metrics = gateway.client.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    lines = metrics.text.splitlines()
    for expected in (
        'pgcredits_gateway_rpc_requests_total{function="get_balance",method="GET",status="200"} 2.0',
        'pgcredits_gateway_rpc_requests_total{function="open_account",method="POST",status="200"} 1.0',
        'pgcredits_gateway_rpc_requests_total{function="grant_credits",method="POST",status="403"} 1.0',
        'pgcredits_gateway_rpc_requests_total{function="<unknown>",method="POST",status="404"} 1.0',
        'pgcredits_gateway_rpc_duration_seconds_count{function="get_balance"} 2.0',
    ):
        assert expected in lines, expected


def test_the_gateway_login_role_has_no_rights_of_its_own(pg_cluster: Cluster, db: str) -> None:
    """What docs/gateway.md says to grant is enough, and alone (NOINHERIT) it reaches nothing."""
    _ensure_gateway_role(pg_cluster)
    with psycopg.connect(gateway_url(pg_cluster, db)) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from credits.get_balance('alice')")


# --- Server-Sent Events --------------------------------------------------------------------------------------------


class EventReader:
    """A /events stream read in a thread: each event as {"event", "id", "data"}, with when it arrived."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.events: queue.Queue[tuple[float, dict[str, str]]] = queue.Queue()
        self.subscribed = threading.Event()
        self.status: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(base_url, headers), daemon=True)
        self._thread.start()
        assert self.subscribed.wait(10), f"/events did not open (status {self.status})"

    def _read(self, base_url: str, headers: dict[str, str]) -> None:
        timeout = httpx.Timeout(10, read=None)
        with httpx.stream("GET", f"{base_url}/events", headers=headers, timeout=timeout) as response:
            self.status = response.status_code
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    self.subscribed.set()  # the first comment is sent once subscribed; later ones are heartbeats
                elif line.startswith("retry: "):
                    continue  # the reconnection delay, not an event
                elif line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                elif fields:
                    self.events.put((time.monotonic(), fields))
                    fields = {}

    def next(self, timeout: float = 5) -> tuple[float, dict[str, str]]:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no event within {timeout} s", pytrace=False)

    def until(self, kind: str, timeout: float = 5) -> list[dict[str, str]]:
        """Every event up to and including the first of `kind`."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            _, event = self.next(max(deadline - time.monotonic(), 0.01))
            seen.append(event)
            if event["event"] == kind:
                return seen

    def close(self) -> None:
        self._stop.set()  # the next heartbeat (0.5 s) ends the read
        self._thread.join(10)


@contextlib.contextmanager
def stream_opener(running: Running) -> Iterator[Callable[[str], EventReader]]:
    """Opens /events streams of `running` as users; closed when the block ends."""
    readers: list[EventReader] = []

    def open_stream(sub: str) -> EventReader:
        readers.append(EventReader(running.base_url, bearer(sub)))
        return readers[-1]

    try:
        yield open_stream
    finally:
        for reader in readers:
            reader.close()


@pytest.fixture
def events(gateway: Running) -> Iterator[Callable[[str], EventReader]]:
    """stream_opener for the test."""
    with stream_opener(gateway) as open_stream:
        yield open_stream


def test_a_balance_change_reaches_the_stream(gateway: Running, events: Callable[[str], EventReader]) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    alice = events("alice")
    committed = time.monotonic()
    spent = gateway.post("deduct_credits", {"account_id": "alice", "feature": "roast"}, bearer("alice"))
    assert spent.status_code == 200
    arrived, event = alice.next(timeout=5)
    print(f"balance_changed delivered {1000 * (arrived - committed):.1f} ms after the call was sent")
    assert event["event"] == "balance_changed"
    row = json.loads(event["data"], parse_float=Decimal)
    assert (row["account_id"], row["kind"], row["event_id"]) == ("alice", "balance_changed", int(event["id"]))
    assert row["payload"]["available"] == Decimal("5.000000")


def test_issue13_a_stream_watches_its_account_while_it_is_open(gateway: Running, connect: Connect,
                                                               events: Callable[[str], EventReader]) -> None:
    """Only watched accounts are notified: the gateway watches an account while a stream of it is open."""
    gateway.post("open_account", {"account_id": "alice"})
    watches = "select watcher from credits_private.event_watchers where account_id = 'alice'"
    plain = connect(autocommit=True)
    assert plain.execute(watches).fetchall() == []
    alice = events("alice")
    (watcher,), = plain.execute(watches).fetchall()
    assert watcher.startswith("gateway:"), watcher
    alice.close()
    deadline = time.monotonic() + 10
    while plain.execute(watches).fetchall() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert plain.execute(watches).fetchall() == [], "the watch outlived the account's last stream"


def test_the_stream_never_carries_another_accounts_events(gateway: Running,
                                                          events: Callable[[str], EventReader]) -> None:
    for account in ("alice", "bob"):
        gateway.post("open_account", {"account_id": account})
    alice = events("alice")
    bob = events("bob")
    for _ in range(3):
        gateway.post("deduct_credits", {"account_id": "bob", "feature": "roast"}, bearer("bob"))
    gateway.post("grant_credits", {"account_id": "alice", "amount": 2, "source": "promo"})
    # Notifications arrive in commit order: had bob's leaked to alice, they would come before hers.
    seen = alice.until("balance_changed")
    assert [json.loads(e["data"])["account_id"] for e in seen] == ["alice"], seen
    assert [json.loads(e["data"])["account_id"] for e in bob.until("balance_changed")] == ["bob"]


def test_events_need_an_account(gateway: Running) -> None:
    response = gateway.client.get("/events", headers=bearer(None, "credits_service"))
    assert error(response, 403)["code"] == "42501"


@contextlib.contextmanager
def database_stopped(pg_cluster: Cluster) -> Iterator[None]:
    """The cluster stopped (its folder kept) while the block runs, then started again."""
    removes = pg_cluster.remove_on_stop
    pg_cluster.remove_on_stop = None  # stop() would delete a throwaway cluster
    try:
        pg_cluster.stop()
        yield
    finally:
        pg_cluster.start()
        pg_cluster.remove_on_stop = removes


def test_the_gateway_survives_a_database_restart(pg_cluster: Cluster, gateway: Running,
                                                  events: Callable[[str], EventReader]) -> None:
    gateway.post("open_account", {"account_id": "alice"})
    alice = events("alice")
    with database_stopped(pg_cluster):
        down = gateway.post("deduct_credits", {"account_id": "alice", "feature": "roast"}, bearer("alice"))
        assert error(down, 503)["code"] == "GW503"
        assert down.headers["retry-after"] == "1"
        assert gateway.client.get("/ready").status_code == 503
        assert gateway.client.get("/live").status_code == 200
    assert alice.until("resync", timeout=30)[-1]["event"] == "resync"
    deadline = time.monotonic() + 30
    while (spent := gateway.post("deduct_credits", {"account_id": "alice", "feature": "roast"},
                                 bearer("alice"))).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert spent.status_code == 200, spent.text
    assert exact(spent)[0]["available"] == Decimal("5.000000"), "the call refused while down changed nothing"
    assert alice.until("balance_changed")[-1]["id"]
    assert gateway.client.get("/ready").status_code == 200


# --- JWKS ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def jwks() -> Iterator[tuple[str, Any]]:
    """A JWKS document served over HTTP on loopback, and the RSA private key of its one key ("k1")."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    document = json.dumps({"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key
    finally:
        server.shutdown()


def test_tokens_verified_with_a_jwks_url(pg_cluster: Cluster, db: str, connect: Connect,
                                         jwks: tuple[str, Any]) -> None:
    url, key = jwks
    _ensure_gateway_role(pg_cluster)
    connect(autocommit=True).execute("select tests.catalog(); select credits.open_account('alice')")
    with serving(gateway_url(pg_cluster, db), jwt_secret=None, jwks_url=url) as running:
        signed = jwt.encode({"sub": "alice"}, key, algorithm="RS256", headers={"kid": "k1"})
        ok = running.get("get_balance", {"account_id": "alice"}, {"Authorization": f"Bearer {signed}"})
        assert ok.status_code == 200, ok.text
        hs256 = running.get("get_balance", {"account_id": "alice"}, bearer("alice"))
        assert error(hs256, 401)["code"] == "PGRST301", "an HS256 token is refused when keys come from a JWKS"
