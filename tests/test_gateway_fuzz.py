"""Gateway fuzzing with schemathesis against its own /openapi.json (issue 5 "Attacks"), loopback only.

For every operation the gateway describes, schemathesis generates requests
that fit the schema and requests that break it (bounded: 8 of each per
operation) and each is sent twice: as the user
alice, and as a backend (`credits_service`). Neither may ever get a 5xx
(the database is up; 503 is only for retried conflicts, and nothing here
races), and alice's answers never show bob's account: his grant of
771.123456, his balance of 776.123456 and a marker in his metadata appear
in no answer to her.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from pgcredits.dev.cluster import Cluster
from tests.test_gateway import Connect, Running, _ensure_gateway_role, bearer, gateway_url, serving

BOB_MARKERS = ("771.123456", "776.123456", "bob-secret-marker")  # his grant, his balance, his metadata
ALICE = bearer("alice", "credits_user")
SERVICE = bearer("backend", "credits_service")


@pytest.fixture
def fuzzed(pg_cluster: Cluster, db: str, connect: Connect) -> Iterator[Running]:
    _ensure_gateway_role(pg_cluster)
    setup = connect(autocommit=True)
    setup.execute("select tests.catalog()")
    setup.execute("select credits.open_account('alice')")
    setup.execute("""select credits.open_account('bob', metadata => '{"note": "bob-secret-marker"}')""")
    setup.execute("select credits.grant_credits('bob', 771.123456, 'promo')")
    setup.execute("select credits.deduct_credits('bob', 'roast')")
    with serving(gateway_url(pg_cluster, db)) as running:
        yield running


def test_no_server_error_and_no_other_accounts_data(fuzzed: Running) -> None:
    """Every operation of /openapi.json, positive and negative (schema-violating) cases alike."""
    schema = schemathesis.openapi.from_url(f"{fuzzed.base_url}/openapi.json")
    # /events is an endless stream (tests/test_gateway.py reads it); everything else is fuzzed.
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if op.path != "/events"]
    assert len(operations) >= 20, "the gateway describes too few operations"
    sent = 0

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                      database=None)
            def send(case: schemathesis.Case) -> None:
                nonlocal sent
                as_alice = case.call(base_url=fuzzed.base_url, headers=ALICE, timeout=30)
                curl = case.as_curl_command()
                assert as_alice.status_code < 500, f"{curl} -> {as_alice.status_code} {as_alice.text[:300]}"
                for marker in BOB_MARKERS:
                    assert marker not in as_alice.text, f"alice saw bob's data: {curl} -> {as_alice.text[:300]}"
                as_service = case.call(base_url=fuzzed.base_url, headers=SERVICE, timeout=30)
                assert as_service.status_code < 500, f"{curl} -> {as_service.status_code} {as_service.text[:300]}"
                sent += 2

            try:
                send()
            except Unsatisfiable:  # an operation without parameters has no schema-violating form
                assert mode is GenerationMode.NEGATIVE, operation.label
    assert sent > 100
