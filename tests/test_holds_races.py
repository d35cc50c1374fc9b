"""Holds under many connections at once (SPEC §1 hold, §2 reserve/capture/release, expire_holds).

Capture racing expiry, reserves racing for the same credits, capture racing
release of the same hold, retries of one keyed reserve, and reserves racing
for a per-period limit. The fixtures and helpers are those of
tests/test_concurrency.py: every caller a login role of its own, member of
`credits_service`, one connection per worker, each call its own committed
transaction, workers released together by a barrier. Time is moved per
connection with `credits.now` (the test databases allow the override).
Nothing waits on a clock: the outcomes are checked, never the timings.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
from test_concurrency import (  # noqa: F401 (roles and setup are fixtures)
    LOCKING_ERRORS,
    Roles,
    all_at_once,
    assert_ledger_chains,
    assert_no_negative_grant,
    open_with,
    roles,
    setup,
)

RESERVE = (
    "select * from credits.reserve_credits(account_id => %s, feature => %s, idempotency_key => %s,"
    " ttl => %s::interval, amount => %s)"
)
CAPTURE = "select * from credits.capture_hold(hold_id => %s, amount => %s)"
RELEASE = "select * from credits.release_hold(hold_id => %s)"
EXPIRE = "select * from credits.expire_holds()"

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


def at(conn: psycopg.Connection[Any], moment: datetime) -> psycopg.Connection[Any]:
    """Move credits.now() of this connection's session to `moment`; returns the connection."""
    conn.execute("select set_config('credits.now', %s, false)", (moment.isoformat(),))
    conn.commit()
    return conn


def balance(conn: psycopg.Connection[Any], account_id: str) -> dict[str, Any]:
    return conn.execute(
        "select available, held, buckets from credits.get_balance(%s) where credit_type = 'credits'", (account_id,)
    ).fetchone()


def holds(conn: psycopg.Connection[Any]) -> dict[int, dict[str, Any]]:
    rows = conn.execute(
        "select hold_id, account_id, amount, status, captured, capture_entry_id from credits_private.holds"
    ).fetchall()
    return {row["hold_id"]: row for row in rows}


def run(conn: psycopg.Connection[Any], query: str, args: tuple[Any, ...] = ()) -> dict[str, Any]:
    """One call in its own transaction, committed; a locking error fails the test with the call named."""
    try:
        row = conn.execute(query, args).fetchone()
        conn.commit()
    except LOCKING_ERRORS as err:
        conn.rollback()
        raise AssertionError(f"{query} {args}: {type(err).__name__}: {err}") from err
    return row


# Capture racing expiry ----------------------------------------------------------------------------

RACE_ACCOUNTS = [f"race_{n}" for n in range(4)]
HOLDS_PER_ACCOUNT = 12
CAPTURERS = 8
SWEEPERS = 2


def test_capture_racing_expiry_ends_every_hold_exactly_once(setup: psycopg.Connection[Any], roles: Roles) -> None:
    """Holds of 1 to 3 credits on a promo grant, reserved at 12:00 for a minute; the promo ends at 12:00:20.

    Capturers whose transactions began at 12:00:30 (before the holds lapse, after the grant ended)
    capture every hold, half of them partly, while two sweepers at 12:02 run expire_holds. Each
    hold ends once: captured (its capture ok, drawn from the ended promo) or expired (its capture
    says hold_expired, and a sweep counted it), never both. Whatever the promo had beyond the
    captures is written off; the purchase nobody earmarked is whole.
    """
    at(setup, T0)
    plan: list[tuple[int, Decimal]] = []  # (hold_id, amount to capture)
    promo: dict[str, int] = {}  # account -> its promo grant, which exactly covers its holds
    promo_amount = sum(Decimal(1 + n % 3) for n in range(HOLDS_PER_ACCOUNT))
    for account in RACE_ACCOUNTS:
        open_with(setup, account, 0)
        amounts = [Decimal(1 + n % 3) for n in range(HOLDS_PER_ACCOUNT)]
        promo[account] = setup.execute(
            "select grant_id from credits.grant_credits(%s, %s, 'promo', expires_at => %s)",
            (account, promo_amount, T0 + timedelta(seconds=20)),
        ).fetchone()["grant_id"]
        setup.execute("select credits.purchase_credits(%s, 10, %s)", (account, f"pay-{account}"))
        for n, amount in enumerate(amounts):
            hold = setup.execute(RESERVE, (account, "roast", None, "1 minute", amount)).fetchone()
            assert (hold["ok"], hold["held"]) == (True, amount)
            plan.append((hold["hold_id"], amount if n % 2 == 0 else amount - Decimal("0.5")))
    random.Random(20260310).shuffle(plan)

    def work(index: int, barrier: threading.Barrier) -> Any:
        if index < SWEEPERS:
            conn = at(roles.service(), T0 + timedelta(minutes=2))
            barrier.wait()
            return run(conn, EXPIRE)["holds_released"]
        conn = at(roles.service(), T0 + timedelta(seconds=30))
        barrier.wait()
        mine = plan[index - SWEEPERS :: CAPTURERS]
        return [(hold_id, charge, run(conn, CAPTURE, (hold_id, charge))) for hold_id, charge in mine]

    results = all_at_once(SWEEPERS + CAPTURERS, work)

    swept = sum(results[:SWEEPERS])
    captures = [capture for worker in results[SWEEPERS:] for capture in worker]
    assert len(captures) == len(plan)
    ended = holds(setup)
    captured, expired = [], []
    for hold_id, charge, row in captures:
        if row["ok"]:
            assert row["charged"] == charge, row
            assert ended[hold_id]["status"] == "captured" and ended[hold_id]["captured"] == charge
            assert ended[hold_id]["capture_entry_id"] == row["transaction_id"]
            captured.append(row["transaction_id"])
        else:
            assert (row["reason"], row["transaction_id"], row["charged"]) == ("hold_expired", None, 0), row
            assert ended[hold_id]["status"] == "expired" and ended[hold_id]["capture_entry_id"] is None
            expired.append(hold_id)
    assert len(captured) + len(expired) == len(plan)
    assert swept == len(expired), "every expired hold was counted by exactly one sweep"
    assert Counter(row["status"] for row in ended.values()) == {
        status: n for status, n in (("captured", len(captured)), ("expired", len(expired))) if n
    }

    capture_rows = setup.execute(
        "select transaction_id, account_id, amount, draws from credits.ledger where kind = 'capture'"
    ).fetchall()
    assert sorted(row["transaction_id"] for row in capture_rows) == sorted(captured)
    for row in capture_rows:  # drawn from the promo the hold earmarked, though it had ended
        assert [draw["grant_id"] for draw in row["draws"]] == [promo[row["account_id"]]]
        assert sum(Decimal(str(draw["amount"])) for draw in row["draws"]) == -row["amount"]
    for account in RACE_ACCOUNTS:
        charged = -sum((row["amount"] for row in capture_rows if row["account_id"] == account), Decimal(0))
        written_off = setup.execute(
            "select coalesce(sum(amount), 0) as total from credits.ledger where account_id = %s and kind = 'expiry'",
            (account,),
        ).fetchone()["total"]
        assert charged - written_off == promo_amount, "the promo was either captured or written off"
        assert balance(setup, account) == {"available": 10, "held": 0, "buckets": {"purchase": 10}}
    assert run(at(setup, T0 + timedelta(minutes=3)), EXPIRE)["holds_released"] == 0
    assert setup.execute("select * from credits.reconciliation").fetchall() == []
    assert_no_negative_grant(setup)
    assert_ledger_chains(setup)


# Reserves racing for the same credits -------------------------------------------------------------


def test_16_concurrent_reserves_against_10_credits_make_exactly_10_holds(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    open_with(setup, "hot", 10)

    def reserve(_: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.service()
        barrier.wait()
        return run(conn, RESERVE, ("hot", "roast", None, "15 minutes", None))

    results = all_at_once(16, reserve)

    assert Counter((r["ok"], r["reason"]) for r in results) == {(True, None): 10, (False, "insufficient_credits"): 6}
    made = {r["hold_id"] for r in results if r["ok"]}
    assert len(made) == 10 and {r["held"] for r in results if r["ok"]} == {1}
    assert {r["hold_id"] for r in results if not r["ok"]} == {None}
    assert set(holds(setup)) == made
    assert balance(setup, "hot") == {"available": 0, "held": 10, "buckets": {}}
    assert setup.execute(
        "select count(*) from credits.gate_events where account_id = 'hot' and reason = 'insufficient_credits'"
    ).fetchone()["count"] == 6
    assert_no_negative_grant(setup)


def test_16_concurrent_retries_of_one_keyed_reserve_hold_once(setup: psycopg.Connection[Any], roles: Roles) -> None:
    open_with(setup, "retry", 10)

    def retry(_: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.service()
        barrier.wait()
        return run(conn, RESERVE, ("retry", "roast", "render-81", "15 minutes", 2))

    results = all_at_once(16, retry)

    assert {(r["ok"], r["hold_id"], r["held"], r["expires_at"]) for r in results} == {
        (True, results[0]["hold_id"], 2, results[0]["expires_at"])
    }
    assert list(holds(setup)) == [results[0]["hold_id"]]
    assert balance(setup, "retry")["held"] == 2


def test_8_concurrent_chapter_reserves_never_overrun_the_period_limit(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    setup.execute("select credits.open_account('chapters', 'free')")  # 6 credits; chapter: 3 a period

    def reserve(_: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.service()
        barrier.wait()
        return run(conn, RESERVE, ("chapters", "chapter", None, "15 minutes", None))

    results = all_at_once(8, reserve)

    assert Counter((r["ok"], r["reason"]) for r in results) == {(True, None): 3, (False, "period_limit_reached"): 5}
    check = setup.execute("select allowed, period_remaining from credits.check_feature('chapters', 'chapter')")
    assert check.fetchone() == {"allowed": False, "period_remaining": 0}
    assert balance(setup, "chapters")["held"] == 3


# Capture racing release of the same hold ------------------------------------------------------------

PAIRS = 20


def test_capture_racing_release_of_the_same_hold_one_wins(setup: psycopg.Connection[Any], roles: Roles) -> None:
    """For each of 20 holds a capture and a release start together: exactly one of them ends it."""
    open_with(setup, "pair", 100)
    hold_ids = [
        setup.execute(RESERVE, ("pair", "roast", None, "15 minutes", 1 + n % 4)).fetchone()["hold_id"]
        for n in range(PAIRS)
    ]
    amounts = {hold_id: Decimal(1 + n % 4) for n, hold_id in enumerate(hold_ids)}

    def work(index: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.service()
        hold_id = hold_ids[index // 2]
        barrier.wait()
        if index % 2 == 0:
            return run(conn, CAPTURE, (hold_id, None))
        return run(conn, RELEASE, (hold_id,))

    results = all_at_once(2 * PAIRS, work)

    ended = holds(setup)
    outcomes: Counter[str] = Counter()
    for n, hold_id in enumerate(hold_ids):
        capture, release = results[2 * n], results[2 * n + 1]
        if capture["ok"]:
            assert (capture["charged"], release["released"]) == (amounts[hold_id], 0)
            assert ended[hold_id]["status"] == "captured"
            outcomes["captured"] += 1
        else:
            assert (capture["reason"], capture["charged"], release["released"]) == (
                "hold_released", 0, amounts[hold_id]
            )
            assert ended[hold_id]["status"] == "released"
            outcomes["released"] += 1
    assert sum(outcomes.values()) == PAIRS
    charged = sum((amounts[h] for h in hold_ids if ended[h]["status"] == "captured"), Decimal(0))
    captures = setup.execute("select count(*), coalesce(-sum(amount), 0) as total from credits.ledger"
                             " where kind = 'capture'").fetchone()
    assert (captures["count"], captures["total"]) == (outcomes["captured"], charged)
    assert balance(setup, "pair") == {"available": 100 - charged, "held": 0, "buckets": {"promo": 100 - charged}}
    assert_ledger_chains(setup)
