"""The real PostgREST clients against a live gateway (issue 10): @supabase/postgrest-js, supabase-js, PyPI postgrest.

`tests/js/package.json` and its lock pin the npm packages; they are installed
with `npm ci` into `tests/js/node_modules` (git-ignored) once per session, and
a failed install fails these tests. `tests/js/clients.mjs` makes each call a
Supabase frontend makes and prints what the client returned ({data, error,
count, status}); the checks are here, with what the database holds after.
The same calls through supabase-py's `postgrest` client follow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from postgrest import APIError, SyncPostgrestClient

from pgcredits.cluster import Cluster
from tests.test_gateway import SECRET, Connect, Running, exact, known_gateway, token

JS = Path(__file__).resolve().parent / "js"
SUPABASE_ALICE = token("alice", "authenticated", aud="authenticated", email="alice@example.com",
                       app_metadata={"provider": "email"}, session_id="s-1")
TOKENS = {
    "alice": token("alice", "credits_user"),
    "service": token("backend", "credits_service"),
    "supabase_alice": SUPABASE_ALICE,
    "forged": token("alice", "credits_service", secret="another secret, also long enough ...."),
    "anon_key": token(None, "anon", expires_in=86400),  # a project's anon key: sent as apikey, never trusted
}


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """`npm ci` of tests/js (the versions of package-lock.json); any failure fails the test, never a skip."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: the real-client tests need Node 20 and npm", pytrace=False)
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS, capture_output=True,
                          text=True, timeout=300, check=False)
    if done.returncode != 0:
        pytest.fail(f"npm ci in {JS} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}", pytrace=False)
    return JS / "node_modules"


@pytest.fixture
def gateway(pg_cluster: Cluster, db: str, connect: Connect) -> Iterator[Running]:
    with known_gateway(pg_cluster, db, connect) as running:
        connect(autocommit=True).execute("select credits.open_account('alice')")
        yield running


def available(connect: Connect) -> Decimal:
    row = connect().execute("select available from credits.get_balance('alice') where credit_type = 'credits'"
                            ).fetchone()
    assert row is not None
    return Decimal(row[0])


def test_postgrest_js_and_supabase_js(node_modules: Path, gateway: Running, connect: Connect) -> None:
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    ran = subprocess.run([node, str(JS / "clients.mjs")], cwd=JS, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "BASE_URL": gateway.base_url, "TOKENS": json.dumps(TOKENS)},
                         check=False)
    assert ran.returncode == 0, ran.stderr
    results: dict[str, dict[str, Any]] = json.loads(ran.stdout)

    def ok(name: str) -> Any:
        result = results[name]
        assert result["error"] is None and 200 <= result["status"] < 300, (name, result)
        return result["data"]

    def failed(name: str, status: int, code: str) -> dict[str, Any]:
        result = results[name]
        assert result["status"] == status and result["data"] is None, (name, result)
        assert result["error"]["code"] == code, (name, result)
        assert set(result["error"]) >= {"code", "message", "details", "hint"}, (name, result)
        return dict(result["error"])

    single = ok("single")
    assert isinstance(single, dict) and single["ok"] is True and single["available"] == 5, single
    assert [row["credit_type"] for row in ok("get")] == ["analysis", "credits"]
    head = results["head_count"]
    assert (head["status"], head["data"], head["count"], head["error"]) == (200, None, 2, None), head
    assert ok("select_eq_get") == [{"available": 5}]
    assert ok("select_eq_post_single") == {"available": 5}
    assert ok("order_limit_count") == [{"credit_type": "credits"}] and results["order_limit_count"]["count"] == 2
    assert results["order_limit_count"]["status"] == 206
    rolled_back = ok("rollback")
    assert rolled_back["ok"] is True and rolled_back["available"] == 4, "the dry run ran"
    assert ok("supabase_token")["allowed"] is True
    assert failed("e401_none", 401, "PGRST302")["message"].startswith("no Authorization header")
    assert "signature" in failed("e401_bad", 401, "PGRST301")["message"].lower()
    assert failed("e403", 403, "42501")["hint"] == "may be called by: credits_admin, credits_service"
    assert "nobody" in failed("e404_account", 404, "PT404")["message"]
    assert "no_such_function" in failed("e404_function", 404, "PGRST202")["message"]
    ok("e409_first")
    failed("e409", 409, "PT409")
    failed("e422", 422, "PT422")
    assert failed("e406_single", 406, "PGRST116")["details"] == "The result contains 2 rows"
    charged = ok("supabase_js")
    assert charged["ok"] is True and charged["available"] == 3, charged
    # single, e409_first and supabase_js charged 1 each; the dry run charged nothing
    assert available(connect) == Decimal("3.000000")
    debits = connect().execute("select count(*) from credits.ledger where account_id = 'alice' and amount < 0"
                               ).fetchone()
    assert debits == (3,)


def test_supabase_py_postgrest(gateway: Running, connect: Connect) -> None:
    def client(name: str) -> SyncPostgrestClient:
        return SyncPostgrestClient(gateway.base_url, schema="credits",
                                   headers={"Authorization": f"Bearer {TOKENS[name]}"})

    with client("alice") as alice, client("supabase_alice") as supabase_alice, client("service") as service:
        single = alice.rpc("deduct_credits", {"account_id": "alice", "feature": "roast"}).single().execute()
        assert single.data["ok"] is True and Decimal(str(single.data["available"])) == 5, single
        rows = alice.rpc("get_balance", {"account_id": "alice"}, get=True).execute()
        assert [row["credit_type"] for row in rows.data] == ["analysis", "credits"]
        head = alice.rpc("get_balance", {"account_id": "alice"}, head=True, count="exact").execute()  # type: ignore[arg-type]
        assert head.count == 2 and not head.data, head
        picked = alice.rpc("get_balance", {"account_id": "alice"}).select("available").eq("credit_type", "credits"
                                                                                       ).execute()
        assert picked.data == [{"available": 5}], picked
        dry = alice.rpc("deduct_credits", {"account_id": "alice", "feature": "roast"})
        dry.request.headers["Prefer"] = "tx=rollback"  # supabase-py has no .rollback(): the header it would send
        assert dry.single().execute().data["available"] == 4
        assert available(connect) == Decimal("5.000000"), "the dry run was committed"
        assert supabase_alice.rpc("check_feature", {"account_id": "alice", "feature": "roast"}
                                  ).single().execute().data["allowed"] is True
        expected = [
            (lambda: alice.rpc("grant_credits", {"account_id": "alice", "amount": 100, "reason": "me"}).execute(),
             "42501"),
            (lambda: service.rpc("get_balance", {"account_id": "nobody"}).execute(), "PT404"),
            (lambda: alice.rpc("no_such_function", {}).execute(), "PGRST202"),
            (lambda: service.rpc("grant_credits", {"account_id": "alice", "amount": -5, "source": "promo"}).execute(),
             "PT422"),
            (lambda: alice.rpc("get_balance", {"account_id": "alice"}).single().execute(), "PGRST116"),
        ]
        alice.rpc("deduct_credits", {"account_id": "alice", "feature": "roast", "idempotency_key": "k1"}).execute()
        expected.append((lambda: alice.rpc("deduct_credits", {"account_id": "alice", "feature": "chat",
                                                              "idempotency_key": "k1"}).execute(), "PT409"))
        for call, code in expected:
            with pytest.raises(APIError) as raised:
                call()
            assert raised.value.code == code, raised.value
            assert raised.value.message, raised.value
    with SyncPostgrestClient(gateway.base_url, schema="credits") as anonymous:
        with pytest.raises(APIError) as raised:
            anonymous.rpc("get_balance", {"account_id": "alice"}).execute()
        assert raised.value.code == "PGRST302"
    assert available(connect) == Decimal("4.000000")
    assert exact(gateway.post("get_balance", {"account_id": "alice"}))[1]["available"] == Decimal("4.000000")
