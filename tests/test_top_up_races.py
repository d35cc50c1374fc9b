"""Auto top-up under many connections at once (contract §8 auto top-up).

Lago charged a card again and again until the gap closed (their #6177) and
accepted duplicate top-ups (#5870). Here: 16 debits crossing the threshold at
once write exactly one request; 16 payment workers retrying the purchase of one
request credit it once; a decline racing the purchase leaves one outcome. The
fixtures and helpers are those of tests/test_concurrency.py: every caller a
login role of its own, one connection per worker, each call its own committed
transaction, workers released together by a barrier. Outcomes are checked,
never timings.
"""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal
from typing import Any

import psycopg
from test_concurrency import (  # noqa: F401 (roles and setup are fixtures)
    Roles,
    all_at_once,
    assert_ledger_chains,
    assert_no_negative_grant,
    available,
    open_with,
    roles,
    setup,
)

DEDUCT = "select * from credits.deduct_credits(account_id => %s, feature => 'roast', amount => %s)"
PURCHASE = "select * from credits.purchase_credits(account_id => %s, amount => %s, payment_ref => %s)"
FAIL = "select * from credits.fail_top_up(request_id => %s, reason => 'card declined')"


def with_auto_top_up(conn: psycopg.Connection[Any], account_id: str, credits: int) -> None:
    open_with(conn, account_id, credits)
    conn.execute(
        "select credits.set_auto_top_up(%s, 'credits', threshold => 20, credits => 100, price => 9.99,"
        " cooldown => '1 hour', monthly_limit => 1000, currency => 'EUR')",
        (account_id,),
    )


def requests(conn: psycopg.Connection[Any], account_id: str) -> list[dict[str, Any]]:
    return conn.execute(
        "select request_id, status, transaction_id, grant_id from credits.top_up_requests where account_id = %s",
        (account_id,),
    ).fetchall()


def test_16_concurrent_debits_crossing_the_threshold_write_exactly_one_request(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    # 24 credits, threshold 20: every one of the 16 debits of 1 leaves the balance below it but the first four.
    with_auto_top_up(setup, "tu_hot", 24)

    def debit(_: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.service()
        barrier.wait()
        row = conn.execute(DEDUCT, ("tu_hot", 1)).fetchone()
        conn.commit()
        return row

    results = all_at_once(16, debit)

    assert all(r["ok"] for r in results), results
    assert available(setup, "tu_hot") == 8
    made = requests(setup, "tu_hot")
    assert len(made) == 1, made
    assert made[0]["status"] == "open"
    # Written by the debit that left 19, in that debit's transaction.
    crossing = setup.execute(
        "select available_after from credits.ledger where transaction_id = %s", (made[0]["transaction_id"],)
    ).fetchone()
    assert crossing == {"available_after": Decimal("19.000000")}
    events = setup.execute(
        "select payload ->> 'request_id' as request_id from credits.events"
        " where account_id = 'tu_hot' and kind = 'top_up_requested'"
    ).fetchall()
    assert events == [{"request_id": made[0]["request_id"]}]
    assert_ledger_chains(setup)


def test_16_workers_retrying_one_request_credit_it_once(setup: psycopg.Connection[Any], roles: Roles) -> None:
    with_auto_top_up(setup, "tu_pay", 21)
    setup.execute(DEDUCT, ("tu_pay", 2))
    [request] = requests(setup, "tu_pay")

    def purchase(_: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.service()
        barrier.wait()
        row = conn.execute(PURCHASE, ("tu_pay", 100, request["request_id"])).fetchone()
        conn.commit()
        return row

    results = all_at_once(16, purchase)

    assert {r["grant_id"] for r in results} == {results[0]["grant_id"]}
    assert available(setup, "tu_pay") == 119
    grants = setup.execute(
        "select count(*) as n from credits.ledger where account_id = 'tu_pay' and kind = 'grant'"
        " and metadata ->> 'source' = 'purchase'"
    ).fetchone()
    assert grants == {"n": 1}
    assert requests(setup, "tu_pay") == [
        {**request, "status": "fulfilled", "grant_id": results[0]["grant_id"]}
    ]
    assert_no_negative_grant(setup)
    assert_ledger_chains(setup)


def test_a_decline_racing_the_purchase_of_one_request_leaves_one_outcome(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    with_auto_top_up(setup, "tu_race", 21)
    setup.execute(DEDUCT, ("tu_race", 2))
    [request] = requests(setup, "tu_race")

    def answer(index: int, barrier: threading.Barrier) -> str:
        conn = roles.service()
        barrier.wait()
        try:
            if index % 2:
                conn.execute(PURCHASE, ("tu_race", 100, request["request_id"]))
            else:
                conn.execute(FAIL, (request["request_id"],))
            conn.commit()
            return "purchased" if index % 2 else "failed"
        except psycopg.Error as err:
            conn.rollback()
            assert err.sqlstate == "PT409", err
            return "refused"

    outcomes = Counter(all_at_once(8, answer))

    [ended] = requests(setup, "tu_race")
    # Every purchase credits (a payment that went through is never lost), once; a decline after it is refused.
    assert ended["status"] == "fulfilled"
    assert outcomes["purchased"] == 4
    assert outcomes["failed"] + outcomes["refused"] == 4
    assert available(setup, "tu_race") == 119
