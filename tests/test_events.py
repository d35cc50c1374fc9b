"""NOTIFY credits_events and exactly-once crossings under concurrency (SPEC §1 event).

pgTAP sees the outbox rows (db/tests/events/) but not what a
listening connection receives, nor many committing sessions at once.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

Connect = Callable[..., psycopg.Connection[Any]]


@pytest.fixture
def setup(connect: Connect) -> psycopg.Connection[Any]:
    """A superuser connection (autocommit) with the known catalog and a plan `empty` with only `roast`.

    The tests' listeners LISTEN themselves, as an app may: they say so (watch_events, every account).
    """
    conn = connect(autocommit=True)
    conn.execute("select tests.catalog()")
    conn.execute("select credits.upsert_plan('empty')")
    conn.execute("select credits.set_plan_feature('empty', 'roast')")
    conn.execute("select credits.watch_events('test-listener', array['*'], null)")
    return conn


def _notifications(listener: psycopg.Connection[Any], count: int) -> list[dict[str, Any]]:
    """The next `count` notifications on the listener (at most 5 s for them), parsed."""
    received = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=count)]
    assert all(set(n) == {"account_id", "kind", "seq"} for n in received), received
    return received


def test_notify_on_commit_carries_account_kind_and_seq(connect: Connect, setup: psycopg.Connection[Any]) -> None:
    listener = connect(autocommit=True)
    listener.execute("listen credits_events")
    setup.execute("select credits.open_account('n_1', 'empty')")
    setup.execute("select credits.grant_credits('n_1', 1, 'promo')")
    assert [n["kind"] for n in _notifications(listener, 1)] == ["balance_changed"]

    with connect() as app:  # the app's own transaction, rolled back: nothing is delivered
        app.execute("select credits.deduct_credits('n_1', 'roast')")
        app.rollback()
    assert list(listener.notifies(timeout=0.5)) == []

    with connect() as app:
        app.execute("select credits.deduct_credits('n_1', 'roast')")
        assert list(listener.notifies(timeout=0.5)) == [], "delivered before the commit"
        app.commit()
    received = _notifications(listener, 5)
    assert [(n["account_id"], n["kind"]) for n in received] == [
        ("n_1", "balance_changed"), ("n_1", "threshold_crossed"), ("n_1", "threshold_crossed"),
        ("n_1", "threshold_crossed"), ("n_1", "depleted")]  # 80, 90 and 100 % (issue 17), then depleted
    rows = setup.execute("select event_id, kind from credits.events where account_id = 'n_1' order by event_id desc"
                         " limit 5").fetchall()
    assert [(n["seq"], n["kind"]) for n in received] == sorted(rows), "seq is the outbox row's event_id"


def test_balance_changed_notify_can_be_turned_off(connect: Connect, setup: psycopg.Connection[Any]) -> None:
    """credits.notify_balance_changed = off: balance_changed is written to the outbox but not notified."""
    listener = connect(autocommit=True)
    listener.execute("listen credits_events")
    setup.execute("select credits.open_account('n_2', 'empty')")
    setup.execute("set credits.notify_balance_changed = off")
    setup.execute("select credits.grant_credits('n_2', 1, 'promo')")
    setup.execute("select credits.deduct_credits('n_2', 'roast')")
    assert [n["kind"] for n in _notifications(listener, 4)] == ["threshold_crossed", "threshold_crossed",
                                                                "threshold_crossed", "depleted"]
    assert list(listener.notifies(timeout=0.5)) == []
    kinds = setup.execute("select kind from credits.events where account_id = 'n_2' order by event_id").fetchall()
    assert [k for (k,) in kinds] == ["balance_changed", "balance_changed", "threshold_crossed", "threshold_crossed",
                                     "threshold_crossed", "depleted"]


def test_each_crossing_once_under_concurrent_debits(connect: Connect, setup: psycopg.Connection[Any]) -> None:
    """16 sessions debit one account of 10 credits at once: 10 succeed, and each crossing is written once."""
    setup.execute("select credits.open_account('n_hot', 'empty')")
    setup.execute("select credits.grant_credits('n_hot', 10, 'promo')")
    workers = 16
    barrier = threading.Barrier(workers)
    connections = [connect() for _ in range(workers)]

    def debit(conn: psycopg.Connection[Any]) -> bool:
        barrier.wait()
        (ok,) = conn.execute("select ok from credits.deduct_credits('n_hot', 'roast')").fetchone()
        conn.commit()
        return bool(ok)

    with ThreadPoolExecutor(workers) as pool:
        outcomes = list(pool.map(debit, connections))
    assert outcomes.count(True) == 10

    rows = setup.execute("select kind, payload ->> 'threshold' from credits.events where account_id = 'n_hot'"
                         " order by event_id").fetchall()
    counts = Counter(rows)
    assert counts == {("balance_changed", None): 11, ("threshold_crossed", "80"): 1, ("threshold_crossed", "90"): 1,
                      ("threshold_crossed", "100"): 1, ("depleted", None): 1, ("feature_gated", None): 6}
    payloads = setup.execute("select kind, payload ->> 'used_this_period' from credits.events"
                             " where account_id = 'n_hot' and kind in ('threshold_crossed', 'depleted')"
                             " order by event_id").fetchall()
    assert payloads == [("threshold_crossed", "8.000000"), ("threshold_crossed", "9.000000"),
                        ("threshold_crossed", "10.000000"), ("depleted", "10.000000")], (
        "each at the debit that crossed it")


def test_issue13_only_watched_accounts_are_notified(connect: Connect, setup: psycopg.Connection[Any]) -> None:
    """A debit on an account nobody watches takes no notify lock at commit: no NOTIFY; its crossings are written."""
    setup.execute("select credits.unwatch_events('test-listener')")
    listener = connect(autocommit=True)
    listener.execute("listen credits_events")
    setup.execute("select credits.open_account('quiet', 'empty'), credits.open_account('loud', 'empty')")
    setup.execute("select credits.grant_credits(a, 1, 'promo') from unnest(array['quiet', 'loud']) a")
    setup.execute("select credits.watch_events('gateway-1', array['loud'], '1 minute')")
    setup.execute("select credits.deduct_credits(a, 'roast') from unnest(array['quiet', 'loud']) a")
    received = _notifications(listener, 5)
    assert {n["account_id"] for n in received} == {"loud"}, received
    assert list(listener.notifies(timeout=0.5)) == [], "a notification for an account nobody watches"
    kinds = [r[0] for r in setup.execute(
        "select kind from credits.events where account_id = 'quiet' order by event_id").fetchall()]
    assert kinds == ["threshold_crossed", "threshold_crossed", "threshold_crossed", "depleted"], kinds
