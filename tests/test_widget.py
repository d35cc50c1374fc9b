"""The widget's side of the gateway over real HTTP (docs/widget.md): the module, the demo of `--dev`, the
stream's query token, CORS. The browser itself is tests/test_widget_browser.py.

`PGCREDITS_UPDATE_DOCS=1` (make screenshots) rewrites the gzipped size stated in docs/widget.md.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest

from pgcredits.cluster import Cluster, free_port
from pgcredits.gateway import create_app
from pgcredits.gateway.widget import DEMO_ACCOUNT, STATIC, RedactAccessTokens
from tests.test_gateway import (SECRET, SERVICE, Connect, Running, _ensure_gateway_role, bearer, error, exact,
                                gateway_url, serving, token)

REPO = Path(__file__).resolve().parent.parent
WIDGET_DOC = REPO / "docs" / "widget.md"
SIZE_LINE = re.compile(r"`pgcredits\.js` is ([\d,]+) bytes, ([\d,]+) bytes gzipped")
GZIPPED_BUDGET = 10_000  # bytes: "small" (issue 11); a widget past it needs a reason in docs/decisions.md
EXAMPLE_CATALOG = REPO / "db" / "catalog" / "example.sql"


def with_example_catalog(pg_cluster: Cluster, connect: Connect) -> psycopg.Connection[Any]:
    """Loads db/catalog/example.sql (what `make run` loads) into the test's database, makes the gateway's role;
    returns the connection (autocommit, superuser) for more set-up."""
    _ensure_gateway_role(pg_cluster)
    conn = connect(autocommit=True)
    conn.execute(EXAMPLE_CATALOG.read_bytes())
    return conn


@pytest.fixture
def dev_gateway(pg_cluster: Cluster, db: str, connect: Connect) -> Iterator[Running]:
    """A gateway started with dev=True (the demo, as `make run` starts it) on the example catalog."""
    with_example_catalog(pg_cluster, connect)
    with serving(gateway_url(pg_cluster, db), dev=True) as running:
        yield running


@pytest.fixture
def plain_gateway(pg_cluster: Cluster, db: str, connect: Connect) -> Iterator[Running]:
    """A gateway without the dev flag, as in production, on the example catalog."""
    with_example_catalog(pg_cluster, connect)
    with serving(gateway_url(pg_cluster, db)) as running:
        yield running


# --- the module -------------------------------------------------------------------------------------------------


def test_the_module_is_served_cacheable_to_any_origin(plain_gateway: Running) -> None:
    response = plain_gateway.client.get("/widget/pgcredits.js", headers={"Origin": "https://app.example"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == (STATIC / "pgcredits.js").read_bytes()
    assert "export function createCredits" in response.text
    etag = response.headers["etag"]
    again = plain_gateway.client.get("/widget/pgcredits.js", headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    other = plain_gateway.client.get("/widget/pgcredits.js", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.content == response.content


def test_the_module_is_small_and_its_size_is_in_the_docs() -> None:
    body = (STATIC / "pgcredits.js").read_bytes()
    gzipped = len(gzip.compress(body, compresslevel=9, mtime=0))
    assert gzipped <= GZIPPED_BUDGET, f"pgcredits.js is {gzipped} bytes gzipped, over {GZIPPED_BUDGET}"
    stated = f"`pgcredits.js` is {len(body):,} bytes, {gzipped:,} bytes gzipped"
    text = WIDGET_DOC.read_text()
    if os.environ.get("PGCREDITS_UPDATE_DOCS"):
        WIDGET_DOC.write_text(SIZE_LINE.sub(stated, text, count=1))
        text = WIDGET_DOC.read_text()
    assert stated in text, f"docs/widget.md should say: {stated} (make screenshots rewrites it)"


# --- the demo exists only with the dev flag ------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/demo"), ("POST", "/demo/token"), ("POST", "/demo/purchase")])
def test_no_demo_without_the_dev_flag(plain_gateway: Running, method: str, path: str) -> None:
    headers = {**bearer(DEMO_ACCOUNT), "Content-Type": "application/json"}
    response = plain_gateway.client.request(method, path, headers=headers, content=b'{"credits": 10}')
    assert response.status_code == 404, response.text


def test_the_demo_page_and_its_token(dev_gateway: Running) -> None:
    page = dev_gateway.client.get("/demo")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert 'import { createCredits } from "/widget/pgcredits.js"' in page.text
    assert dev_gateway.client.get("/demo/token").status_code == 405, "minted on POST only, never by a link or prefetch"

    minted = dev_gateway.client.post("/demo/token")
    assert minted.status_code == 200, minted.text
    assert minted.headers["cache-control"] == "no-store"
    body = minted.json()
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"], body["account_id"]) == (DEMO_ACCOUNT, "credits_user", DEMO_ACCOUNT)
    assert claims["exp"] == body["expires_at"]
    balance = dev_gateway.get("get_balance", {"account_id": DEMO_ACCOUNT}, {"Authorization": f"Bearer {body['token']}"})
    assert [(r["credit_type"], r["available"]) for r in exact(balance)] == [("credits", Decimal("6.000000"))]
    assert dev_gateway.client.post("/demo/token").status_code == 200, "a second token: the account is opened once"
    history = exact(dev_gateway.post("get_history", {"account_id": DEMO_ACCOUNT}))
    assert [row["kind"] for row in history] == ["grant"], "one signup grant"


def test_demo_purchase_buys_for_the_tokens_own_account_once_per_key(dev_gateway: Running) -> None:
    dev_gateway.client.post("/demo/token")
    headers = {**bearer(DEMO_ACCOUNT), "Idempotency-Key": "order-1"}
    bought = dev_gateway.client.post("/demo/purchase", json={"credits": 10}, headers=headers)
    assert bought.status_code == 200, bought.text
    assert exact(bought)[0]["available"] == Decimal("16.000000")
    retried = dev_gateway.client.post("/demo/purchase", json={"credits": 10}, headers=headers)
    assert exact(retried) == exact(bought), "the same key is the same payment: bought once"
    history = exact(dev_gateway.post("get_history", {"account_id": DEMO_ACCOUNT}))
    assert [(row["kind"], row["amount"], row["actor"]) for row in history][:1] == [
        ("grant", Decimal("10.000000"), "pgcredits-demo")]
    assert len(history) == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"credits": 10', 400, "PGRST102"),
        (b"[10]", 400, "PGRST102"),
        (b'{"credits": 7}', 400, "PGRST102"),
        (b'{"credits": "10"}', 400, "PGRST102"),
        (b'{"credits": 10.0}', 400, "PGRST102"),
        (b'{"credits": true}', 400, "PGRST102"),
        (b'{"credits": 10, "account_id": "someone_else"}', 400, "PGRST102"),
        (b"{}", 400, "PGRST102"),
        (b'{"credits": ' + b"9" * 5000 + b"}", 400, "PGRST102"),
    ],
)
def test_demo_purchase_refuses_bad_input_with_json(dev_gateway: Running, body: bytes, status: int, code: str) -> None:
    response = dev_gateway.client.post("/demo/purchase", content=body,
                                       headers={**bearer(DEMO_ACCOUNT), "Content-Type": "application/json"})
    assert error(response, status)["code"] == code


def test_demo_purchase_needs_a_users_token(dev_gateway: Running) -> None:
    assert error(dev_gateway.client.post("/demo/purchase", json={"credits": 10}), 401)["code"] == "PGRST302"
    forged = {"Authorization": f"Bearer {token(DEMO_ACCOUNT, secret='another secret, long enough for HS256')}"}
    assert error(dev_gateway.client.post("/demo/purchase", json={"credits": 10}, headers=forged), 401)["code"] == "PGRST301"
    assert error(dev_gateway.client.post("/demo/purchase", json={"credits": 10}, headers=SERVICE), 403)["code"] == "42501"


def test_demo_purchase_errors_of_the_database_pass_through(dev_gateway: Running) -> None:
    unknown = dev_gateway.client.post("/demo/purchase", json={"credits": 10}, headers=bearer("nobody"))
    assert error(unknown, 404)["code"] == "PT404"
    dev_gateway.client.post("/demo/token")
    long_key = dev_gateway.client.post("/demo/purchase", json={"credits": 10},
                                       headers={**bearer(DEMO_ACCOUNT), "Idempotency-Key": "k" * 400})
    assert error(long_key, 422)["code"] == "PT422"


def test_dev_mode_needs_the_hs256_secret(db: str) -> None:
    with pytest.raises(ValueError, match="PGCREDITS_JWT_SECRET"):
        create_app(db, jwks_url="https://keys.example/jwks.json", dev=True)


def test_serve_dev_without_a_secret_is_a_usage_error(db: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGCREDITS_")}
    result = subprocess.run([sys.executable, "-m", "pgcredits.cli", "serve", "--dev", "--port", str(free_port()),
                             "--database-url", db], env={**env, "PGCREDITS_JWKS_URL": "https://keys.example/jwks"},
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 1
    assert "--dev mints the demo's tokens with PGCREDITS_JWT_SECRET" in result.stderr


# --- the stream's token in the query string ------------------------------------------------------------------------


def test_events_take_the_token_as_access_token(plain_gateway: Running) -> None:
    plain_gateway.post("open_account", {"account_id": "alice"})
    with httpx.stream("GET", f"{plain_gateway.base_url}/events", params={"access_token": token("alice")},
                      timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert next(response.iter_lines()) == ': events of account "alice"'
    bad = plain_gateway.client.get("/events", params={"access_token": "not.a.token"})
    assert error(bad, 401)["code"] == "PGRST301"
    expired = plain_gateway.client.get("/events", params={"access_token": token("alice", expires_in=-60)})
    assert "expired" in error(expired, 401)["message"]


def test_access_token_is_accepted_on_events_only(plain_gateway: Running) -> None:
    plain_gateway.post("open_account", {"account_id": "alice"})
    read = plain_gateway.client.get("/rpc/get_balance", params={"account_id": "alice", "access_token": token("alice")})
    assert error(read, 401)["code"] == "PGRST302"
    write = plain_gateway.client.post("/rpc/deduct_credits", params={"access_token": token("alice")},
                                      json={"account_id": "alice", "feature": "roast"})
    assert error(write, 401)["code"] == "PGRST302"
    assert exact(plain_gateway.post("get_balance", {"account_id": "alice"}))[0]["available"] == Decimal("6.000000")


def test_the_access_log_never_shows_the_token() -> None:
    """uvicorn's access line, as uvicorn formats it, through the filter every app installs."""
    create_app("postgresql://nobody@127.0.0.1:1/none", jwt_secret=SECRET)  # connects only when served
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/events?access_token=eyJhbGciOi.abc.def&x=1", "1.1", 200),
                               None)
    assert RedactAccessTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /events?access_token=[redacted]&x=1 HTTP/1.1" 200'
    assert any(isinstance(f, RedactAccessTokens) for f in logging.getLogger("uvicorn.access").filters)


# --- CORS ------------------------------------------------------------------------------------------------------------


def test_preflight_and_answers_carry_cors_headers(plain_gateway: Running) -> None:
    origin = "http://127.0.0.1:5173"
    preflight = plain_gateway.client.options("/rpc/deduct_credits", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key, prefer, range, accept"})
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == "*"
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "prefer", "range", "accept"} <= allowed
    assert "POST" in preflight.headers["access-control-allow-methods"]
    plain_gateway.post("open_account", {"account_id": "alice"})
    answer = plain_gateway.client.get("/rpc/get_balance", params={"account_id": "alice"},
                                      headers={**bearer("alice"), "Origin": origin})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "Content-Range" in answer.headers["access-control-expose-headers"]
    refused = plain_gateway.client.get("/rpc/get_balance", params={"account_id": "alice"}, headers={"Origin": origin})
    assert error(refused, 401)["code"] == "PGRST302"
    assert refused.headers["access-control-allow-origin"] == "*", "errors too, so the page can read them"


def test_cors_origins_from_the_environment(pg_cluster: Cluster, db: str, connect: Connect,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGCREDITS_CORS_ORIGINS", "https://app.example")
    _ensure_gateway_role(pg_cluster)
    with serving(gateway_url(pg_cluster, db)) as running:
        ok = running.client.options("/rpc/get_balance", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://app.example"
        other = running.client.options("/rpc/get_balance", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
        live = running.client.get("/live", headers={"Origin": "https://evil.example"})
        assert live.status_code == 200 and "access-control-allow-origin" not in live.headers
        assert json.loads(live.text) == {"status": "live"}
