"""The gateway as PostgREST clients expect it (SPEC §5a), over real HTTP, request by request.

What postgrest-js and supabase-py send is in tests/test_gateway_clients.py;
here each PostgREST feature is sent as bytes and its answer read as bytes:
`.single()`'s media type, `select=`, the filters, `order`, `limit`/`offset`
and `Range`, `Prefer: count=exact` with `Content-Range` (and 206),
`tx=rollback` (nothing kept), `params=single-object`, CORS, the role map,
and PostgREST's error codes for what they refuse.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from pgcredits.cluster import Cluster
from tests.test_gateway import (
    SERVICE,
    Connect,
    Running,
    _ensure_gateway_role,
    bearer,
    error,
    exact,
    gateway_url,
    known_gateway,
    serving,
    token,
)
from tests.test_hostile_input import SNAPSHOT

OBJECT = "application/vnd.pgrst.object+json"


@pytest.fixture
def gateway(pg_cluster: Cluster, db: str, connect: Connect) -> Iterator[Running]:
    """A gateway on the known catalog, with alice (free plan: 6 credits, 0 analysis) opened."""
    with known_gateway(pg_cluster, db, connect) as running:
        connect(autocommit=True).execute("select credits.open_account('alice')")
        yield running


def alice(**headers: str) -> dict[str, str]:
    return {**bearer("alice"), **headers}


def balance(running: Running) -> Decimal:
    rows = exact(running.post("get_balance", {"account_id": "alice"}))
    return next(row["available"] for row in rows if row["credit_type"] == "credits")


# --- .single() -----------------------------------------------------------------------------------------------------


def test_single_answers_one_object(gateway: Running) -> None:
    spent = gateway.client.post("/rpc/deduct_credits", json={"account_id": "alice", "feature": "roast"},
                                headers=alice(Accept=OBJECT))
    assert spent.status_code == 200, spent.text
    assert spent.headers["content-type"].startswith(OBJECT)
    row = exact(spent)
    assert isinstance(row, dict) and (row["ok"], row["available"]) == (True, Decimal("5.000000"))
    assert spent.headers["content-range"] == "0-0/*"


def test_single_of_several_rows_is_406_and_rolled_back(gateway: Running, connect: Connect) -> None:
    """get_balance has a row per credit type: two. A .single() on a call that changes data keeps nothing."""
    both = gateway.client.get("/rpc/get_balance", params={"account_id": "alice"}, headers=alice(Accept=OBJECT))
    body = error(both, 406)
    assert body["code"] == "PGRST116" and body["details"] == "The result contains 2 rows", body
    conn = connect(autocommit=True)
    before = conn.execute(SNAPSHOT).fetchone()
    # reset_credits re-issues the period and answers the balance rows: two, so the admin's call is rolled back.
    refused = gateway.client.post("/rpc/reset_credits", json={"account_id": "alice", "reason": "test"},
                                  headers={**bearer("ops", "credits_admin"), "Accept": OBJECT})
    assert error(refused, 406)["code"] == "PGRST116"
    assert conn.execute(SNAPSHOT).fetchone() == before, "a failed .single() changed something"
    none = gateway.client.get("/rpc/get_balance", params={"account_id": "alice", "credit_type": "eq.none"},
                              headers=alice(Accept=OBJECT))
    assert error(none, 406)["details"] == "The result contains 0 rows"


# --- select, filters, order, limit, offset, Range, count --------------------------------------------------------


def test_select_filters_and_order_on_a_set(gateway: Running) -> None:
    def rows(params: dict[str, str]) -> Any:
        answer = gateway.client.get("/rpc/get_balance", params={"account_id": "alice", **params}, headers=alice())
        assert answer.status_code == 200, answer.text
        return exact(answer)

    assert rows({"select": "available"}) == [{"available": Decimal("0.000000")}, {"available": Decimal("6.000000")}]
    assert rows({"select": "credit_type", "order": "credit_type.desc"}) == [{"credit_type": "credits"},
                                                                           {"credit_type": "analysis"}]
    assert rows({"select": "credit_type", "available": "gt.1"}) == [{"credit_type": "credits"}]
    assert rows({"select": "credit_type", "available": "gte.0", "credit_type": "neq.credits"}) == [
        {"credit_type": "analysis"}]
    assert rows({"select": "credit_type", "available": "lt.6"}) == [{"credit_type": "analysis"}]
    assert rows({"select": "credit_type", "available": "lte.6", "order": "available.desc"}) == [
        {"credit_type": "credits"}, {"credit_type": "analysis"}]
    assert rows({"select": "credit_type", "credit_type": 'in.(analysis,"x,y")'}) == [{"credit_type": "analysis"}]
    assert rows({"select": "credit_type", "credit_type": "not.in.(analysis)"}) == [{"credit_type": "credits"}]
    assert rows({"select": "credit_type", "unlimited": "is.false", "available": "eq.6"}) == [
        {"credit_type": "credits"}]
    assert rows({"select": "credit_type", "period_start": "is.null"}) == []
    # POST: the body holds the arguments, the query string the rest (postgrest-js's .select().eq())
    posted = gateway.client.post("/rpc/get_balance?select=available&credit_type=eq.credits",
                                 json={"account_id": "alice"}, headers=alice())
    assert exact(posted) == [{"available": Decimal("6.000000")}], posted.text


def test_limit_offset_range_and_exact_count(gateway: Running) -> None:
    url = "/rpc/get_balance"
    counted = gateway.client.get(url, params={"account_id": "alice", "order": "credit_type", "limit": "1"},
                                 headers=alice(Prefer="count=exact"))
    assert counted.status_code == 206, counted.text  # one of two: partial content, as PostgREST answers
    assert counted.headers["content-range"] == "0-0/2"
    assert [r["credit_type"] for r in exact(counted)] == ["analysis"]
    assert "count=exact" in counted.headers["preference-applied"]
    second = gateway.client.get(url, params={"account_id": "alice", "order": "credit_type", "offset": "1"},
                                headers=alice(Prefer="count=exact"))
    assert second.status_code == 206 and second.headers["content-range"] == "1-1/2"
    assert [r["credit_type"] for r in exact(second)] == ["credits"]
    whole = gateway.client.get(url, params={"account_id": "alice"}, headers=alice(Prefer="count=exact"))
    assert whole.status_code == 200 and whole.headers["content-range"] == "0-1/2"
    uncounted = gateway.client.get(url, params={"account_id": "alice"}, headers=alice())
    assert uncounted.status_code == 200 and uncounted.headers["content-range"] == "0-1/*"
    ranged = gateway.client.get(url, params={"account_id": "alice", "order": "credit_type.desc"},
                                headers=alice(Range="0-0", Prefer="count=exact"))
    assert ranged.status_code == 206 and ranged.headers["content-range"] == "0-0/2"
    assert [r["credit_type"] for r in exact(ranged)] == ["credits"]
    open_ended = gateway.client.get(url, params={"account_id": "alice", "order": "credit_type"},
                                    headers=alice(Range="1-"))
    assert [r["credit_type"] for r in exact(open_ended)] == ["credits"]
    empty = gateway.client.get(url, params={"account_id": "alice", "credit_type": "eq.none"},
                               headers=alice(Prefer="count=exact"))
    assert empty.status_code == 200 and empty.headers["content-range"] == "*/0" and exact(empty) == []
    past = gateway.client.get(url, params={"account_id": "alice", "offset": "5"}, headers=alice(Prefer="count=exact"))
    assert error(past, 416)["code"] == "PGRST103" and past.headers["content-range"] == "*/2"
    backwards = gateway.client.get(url, params={"account_id": "alice"}, headers=alice(Range="3-1"))
    assert error(backwards, 416)["code"] == "PGRST103"


def test_head_with_count_answers_headers_only(gateway: Running) -> None:
    head = gateway.client.head("/rpc/get_balance", params={"account_id": "alice"}, headers=alice(Prefer="count=exact"))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-range"] == "0-1/2"


@pytest.mark.parametrize(
    ("query", "status", "code", "named"),
    [
        ("select=available,%22x%22", 400, "PGRST100", "select"),
        ("select=nope", 400, "42703", "get_balance.nope"),
        ("nope=eq.1", 400, "42703", "get_balance.nope"),
        ("available=like.5", 400, "PGRST100", "like"),
        ("available=is.maybe", 400, "PGRST100", "available=is.maybe"),
        ("credit_type=in.nolist", 400, "PGRST100", "in.nolist"),
        ("order=available.sideways", 400, "PGRST100", "sideways"),
        ("limit=-1", 400, "PGRST100", "limit"),
        ("offset=many", 400, "PGRST100", "offset"),
        ("available=gt.lots", 400, "22P02", "lots"),
        ("colour=red", 404, "PGRST202", "colour"),
        ("limit=1&limit=2", 400, "PGRST100", "limit= is given twice"),
    ],
)
def test_query_strings_that_do_not_parse_are_refused_naming_the_value(gateway: Running, query: str, status: int,
                                                                      code: str, named: str) -> None:
    answer = gateway.client.get(f"/rpc/get_balance?account_id=alice&{query}", headers=alice())
    body = error(answer, status)
    assert body["code"] == code and named in body["message"], body


def test_post_query_strings_are_filters_only(gateway: Running, connect: Connect) -> None:
    conn = connect(autocommit=True)
    before = conn.execute(SNAPSHOT).fetchone()
    answer = gateway.client.post("/rpc/deduct_credits?feature=roast", json={"account_id": "alice"}, headers=alice())
    assert error(answer, 400)["code"] == "PGRST100", "an argument in a POST's query string is no argument"
    assert conn.execute(SNAPSHOT).fetchone() == before


def test_a_scalar_function_takes_no_shape(gateway: Running) -> None:
    now = gateway.client.get("/rpc/now", headers=SERVICE)
    assert now.status_code == 200 and now.json().startswith("20"), now.text
    shaped = gateway.client.get("/rpc/now?select=x", headers=SERVICE)
    assert error(shaped, 400)["code"] == "PGRST100"


# --- Prefer ----------------------------------------------------------------------------------------------------------


def test_tx_rollback_runs_the_call_and_keeps_nothing(gateway: Running, connect: Connect) -> None:
    conn = connect(autocommit=True)
    before = conn.execute(SNAPSHOT).fetchone()
    dry = gateway.client.post("/rpc/deduct_credits", json={"account_id": "alice", "feature": "roast"},
                              headers=alice(Prefer="tx=rollback", **{"Idempotency-Key": "dry-1"}))
    assert dry.status_code == 200, dry.text
    assert dry.headers["preference-applied"] == "tx=rollback"
    [row] = exact(dry)
    assert (row["ok"], row["charged"], row["available"]) == (True, Decimal("1.000000"), Decimal("5.000000"))
    assert conn.execute(SNAPSHOT).fetchone() == before, "the dry run was committed"
    assert balance(gateway) == Decimal("6.000000")
    real = gateway.client.post("/rpc/deduct_credits", json={"account_id": "alice", "feature": "roast"},
                               headers=alice(**{"Idempotency-Key": "dry-1"}))
    assert exact(real)[0]["available"] == Decimal("5.000000"), "the key of a dry run was not kept"
    assert "preference-applied" not in real.headers
    assert balance(gateway) == Decimal("5.000000")


def test_return_minimal_and_strict_handling(gateway: Running) -> None:
    minimal = gateway.client.post("/rpc/get_balance", json={"account_id": "alice"},
                                  headers=alice(Prefer="count=exact, return=minimal"))
    assert minimal.status_code == 204 and minimal.content == b""
    assert minimal.headers["content-range"] == "0-1/2"
    lenient = gateway.client.post("/rpc/get_balance", json={"account_id": "alice"}, headers=alice(Prefer="foo=bar"))
    assert lenient.status_code == 200
    strict = gateway.client.post("/rpc/get_balance", json={"account_id": "alice"},
                                 headers=alice(Prefer="handling=strict, foo=bar"))
    body = error(strict, 400)
    assert body["code"] == "PGRST122" and "foo=bar" in body["details"], body


def test_params_single_object(pg_cluster: Cluster, db: str, connect: Connect) -> None:
    """The body is the one json argument; a function without one is PGRST202. (A function made for this test:
    none of credits takes a single json parameter.)"""
    _ensure_gateway_role(pg_cluster)
    setup = connect(autocommit=True)
    setup.execute("select tests.catalog()")
    setup.execute("create function credits.echo_payload(payload jsonb) returns jsonb language sql stable "
                  "as $$ select payload $$; grant execute on function credits.echo_payload(jsonb) to credits_user")
    with serving(gateway_url(pg_cluster, db)) as running:
        echoed = running.client.post("/rpc/echo_payload", json={"any": ["json", 1.50]},
                                     headers=alice(Prefer="params=single-object"))
        assert echoed.status_code == 200, echoed.text
        assert exact(echoed) == {"any": ["json", Decimal("1.50")]}
        assert "params=single-object" in echoed.headers["preference-applied"]
        other = running.client.post("/rpc/get_balance", json={"account_id": "alice"},
                                    headers=alice(Prefer="params=single-object"))
        assert error(other, 404)["code"] == "PGRST202"


# --- Accept ----------------------------------------------------------------------------------------------------------


def test_media_types(gateway: Running) -> None:
    params = {"account_id": "alice", "feature": "roast", "select": "allowed,reason"}
    plain = gateway.client.get("/rpc/check_feature", params=params, headers=alice())
    assert exact(plain) == [{"allowed": True, "reason": None}], plain.text
    stripped = gateway.client.get("/rpc/check_feature", params=params,
                                  headers=alice(Accept="application/vnd.pgrst.array+json;nulls=stripped"))
    assert stripped.status_code == 200 and exact(stripped) == [{"allowed": True}], stripped.text
    csv = gateway.client.get("/rpc/get_balance", params={"account_id": "alice"}, headers=alice(Accept="text/csv"))
    body = error(csv, 406)
    assert body["code"] == "PGRST107" and "text/csv" in body["message"]
    assert gateway.client.get("/rpc/get_balance", params={"account_id": "alice"},
                              headers=alice(Accept="*/*")).status_code == 200


# --- methods, CORS ---------------------------------------------------------------------------------------------------


def test_options_and_other_methods(gateway: Running) -> None:
    options = gateway.client.options("/rpc/deduct_credits")
    assert options.status_code == 200 and options.headers["allow"] == "OPTIONS, POST"
    assert gateway.client.options("/rpc/get_balance").headers["allow"] == "OPTIONS, GET, HEAD, POST"
    deleted = gateway.client.delete("/rpc/get_balance", headers=alice())
    assert error(deleted, 405)["code"] == "PGRST101"
    nowhere = gateway.client.get("/accounts", headers=alice())
    assert error(nowhere, 404)["code"] == "GW404"


def test_cors_with_any_origin(gateway: Running) -> None:
    preflight = gateway.client.options("/rpc/deduct_credits", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, prefer, apikey, x-client-info"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "prefer", "apikey", "x-client-info"} <= allowed
    assert preflight.headers["access-control-max-age"] == "86400"
    for answer in (gateway.client.get("/rpc/get_balance", params={"account_id": "alice"},
                                      headers=alice(Origin="https://app.example.com")),
                   gateway.client.get("/rpc/get_balance", params={"account_id": "alice"},
                                      headers={"Origin": "https://app.example.com"})):  # a 401 too
        assert answer.headers["access-control-allow-origin"] == "*", answer.status_code
        assert "Content-Range" in answer.headers["access-control-expose-headers"]


def test_cors_with_listed_origins(pg_cluster: Cluster, db: str, connect: Connect,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _ensure_gateway_role(pg_cluster)
    connect(autocommit=True).execute("select tests.catalog(); select credits.open_account('alice')")
    monkeypatch.setenv("PGCREDITS_CORS_ORIGINS", "https://app.example.com, http://localhost:5173")
    with serving(gateway_url(pg_cluster, db)) as running:
        ok = running.client.get("/rpc/get_balance", params={"account_id": "alice"},
                                headers=alice(Origin="http://localhost:5173"))
        assert ok.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert ok.headers["vary"] == "Origin"
        other = running.client.get("/rpc/get_balance", params={"account_id": "alice"},
                                   headers=alice(Origin="https://evil.example"))
        assert "access-control-allow-origin" not in other.headers
        refused = running.client.options("/rpc/deduct_credits", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        body = error(refused, 403)
        assert "https://evil.example" in body["message"] and body["hint"] == "add it to PGCREDITS_CORS_ORIGINS"


def test_bad_cors_and_role_map_settings_stop_the_start(pg_cluster: Cluster, db: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from pgcredits.gateway import create_app

    monkeypatch.setenv("PGCREDITS_CORS_ORIGINS", "app.example.com/path")
    with pytest.raises(ValueError, match="PGCREDITS_CORS_ORIGINS.*app.example.com/path"):
        create_app(gateway_url(pg_cluster, db), jwt_secret="x" * 40)
    monkeypatch.delenv("PGCREDITS_CORS_ORIGINS")
    monkeypatch.setenv("PGCREDITS_ROLE_MAP", "app_user=superuser")
    with pytest.raises(ValueError, match="PGCREDITS_ROLE_MAP.*app_user=superuser"):
        create_app(gateway_url(pg_cluster, db), jwt_secret="x" * 40)


# --- the role map ----------------------------------------------------------------------------------------------------


def test_supabase_roles_are_mapped(gateway: Running) -> None:
    supabase_user = {"Authorization": f"Bearer {token('alice', 'authenticated', aud='authenticated')}"}
    spent = gateway.client.post("/rpc/deduct_credits", json={"account_id": "alice", "feature": "roast"},
                                headers=supabase_user)
    assert spent.status_code == 200, spent.text
    refused = gateway.client.post("/rpc/grant_credits", json={"account_id": "alice", "amount": 5, "reason": "me"},
                                  headers=supabase_user)
    assert error(refused, 403)["details"] == "role credits_user may not execute it"
    service = {"Authorization": f"Bearer {token(None, 'service_role')}"}
    granted = gateway.client.post("/rpc/grant_credits", json={"account_id": "alice", "amount": 5, "source": "promo"},
                                  headers=service)
    assert granted.status_code == 200, granted.text
    anon = gateway.client.post("/rpc/get_balance", json={"account_id": "alice"},
                               headers={"Authorization": f"Bearer {token('alice', 'anon')}"})
    body = error(anon, 401)
    assert body["code"] == "PGRST301" and "'anon'" in body["message"], body


def test_role_map_setting_maps_other_claims(pg_cluster: Cluster, db: str, connect: Connect,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _ensure_gateway_role(pg_cluster)
    connect(autocommit=True).execute("select tests.catalog(); select credits.open_account('alice')")
    monkeypatch.setenv("PGCREDITS_ROLE_MAP", "member=credits_user, backend=credits_service")
    with serving(gateway_url(pg_cluster, db)) as running:
        member = {"Authorization": f"Bearer {token('alice', 'member')}"}
        assert running.client.get("/rpc/get_balance", params={"account_id": "alice"}, headers=member).status_code == 200
        assert error(running.client.post("/rpc/grant_credits", json={"account_id": "alice", "amount": 1},
                                         headers=member), 403)
        backend = {"Authorization": f"Bearer {token(None, 'backend')}"}
        granted = running.client.post("/rpc/grant_credits", json={"account_id": "alice", "amount": 1,
                                                                  "source": "promo"}, headers=backend)
        assert granted.status_code == 200, granted.text


def test_a_remembered_token_still_expires(pg_cluster: Cluster, db: str, connect: Connect) -> None:
    """Verified tokens are remembered; one that has expired since is refused like any other."""
    _ensure_gateway_role(pg_cluster)
    connect(autocommit=True).execute("select tests.catalog(); select credits.open_account('alice')")
    with serving(gateway_url(pg_cluster, db)) as running:
        short = {"Authorization": f"Bearer {token('alice', expires_in=2)}"}
        assert running.client.get("/rpc/get_balance", params={"account_id": "alice"}, headers=short).status_code == 200
        time.sleep(3)
        late = running.client.get("/rpc/get_balance", params={"account_id": "alice"}, headers=short)
        assert error(late, 401)["code"] == "PGRST301" and "expired" in error(late, 401)["message"]
