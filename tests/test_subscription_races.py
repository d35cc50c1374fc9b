"""Deducts racing a subscription upgrade (issue 3, "Done when"): what pgTAP cannot see.

apply_subscription_event locks in the order deduct_credits documents: the
account row, then the balance row, then the grants. A deduct takes the
balance row with its conditional UPDATE and holds it to its commit. So an
upgrade either waits for a deduct's transaction or makes the deduct wait for
its own; either way the period's monthly grant ends at the new allowance less
exactly what was used of it, nothing is overdrawn and nothing deadlocks.

Every caller is a login role of its own, member of `credits_service`, each
call in its own transaction, committed. Nothing waits on a clock: the
outcomes are checked, never the timings.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.rows import dict_row

from pgcredits.dev.cluster import Cluster

Connect = Callable[[], psycopg.Connection[Any]]

LOCKING_ERRORS = (errors.DeadlockDetected, errors.SerializationFailure, errors.LockNotAvailable)
DEDUCT = "select * from credits.deduct_credits(account_id => %s, feature => 'roast', amount => %s)"
EVENT = (
    "select * from credits.apply_subscription_event(event_id => %s, account_id => %s, plan => %s,"
    " status => 'active', period_start => %s, period_end => %s)"
)
# The provider's period: it began yesterday and runs for a month (real time: no clock travel here).
PERIOD_START = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
PERIOD_END = PERIOD_START + timedelta(days=30)


@pytest.fixture
def service(pg_cluster: Cluster, db: str) -> Iterator[Connect]:
    """Connections as a login role made for this test, member of credits_service; closed and dropped after it."""
    role = f"app_{secrets.token_hex(6)}"
    connections: list[psycopg.Connection[Any]] = []

    def connect() -> psycopg.Connection[Any]:
        connections.append(psycopg.connect(db, user=role, row_factory=dict_row))
        return connections[-1]

    _cluster_statement(pg_cluster, "create role {} login in role credits_service", role)
    try:
        yield connect
    finally:
        for conn in connections:
            conn.close()
        _cluster_statement(pg_cluster, "drop role {}", role)


@pytest.fixture
def setup(db: str) -> Iterator[psycopg.Connection[Any]]:
    """A superuser connection (autocommit): the test catalog, plan `empty` (nothing at signup), pro (100 a
    month, tests.catalog) and premium (500 a month)."""
    with psycopg.connect(db, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("select tests.catalog()")
        conn.execute("select credits.upsert_plan('empty')")
        conn.execute("""select credits.upsert_plan('premium', monthly_allowance => '{"credits": 500}')""")
        for plan in ("empty", "premium"):
            conn.execute("select credits.set_plan_feature(%s, 'roast')", (plan,))
        yield conn


def subscribe_to_pro(conn: psycopg.Connection[Any], account_id: str) -> int:
    """Open an account on `empty` and subscribe it to pro for the provider's period; return the monthly grant."""
    conn.execute("select credits.open_account(%s, 'empty')", (account_id,))
    conn.execute(EVENT, (f"{account_id}-pro", account_id, "pro", PERIOD_START, PERIOD_END))
    return monthly(conn, account_id)["grant_id"]


def monthly(conn: psycopg.Connection[Any], account_id: str) -> dict[str, Any]:
    row = conn.execute(
        "select grant_id, amount, remaining, held from credits_private.grants"
        " where account_id = %s and source = 'monthly' and period_start = %s",
        (account_id, PERIOD_START),
    ).fetchone()
    assert row is not None
    return row


def balance(conn: psycopg.Connection[Any], account_id: str) -> dict[str, Any]:
    row = conn.execute(
        "select available, granted_this_period, used_this_period, plan from credits.get_balance(%s)"
        " where credit_type = 'credits'",
        (account_id,),
    ).fetchone()
    assert row is not None
    return row


def assert_consistent(conn: psycopg.Connection[Any]) -> None:
    """Reconciliation empty, no grant below zero, and the balance_before/after chain unbroken."""
    assert conn.execute("select * from credits.reconciliation").fetchall() == []
    assert conn.execute("select grant_id from credits_private.grants where remaining < 0").fetchall() == []
    rows = conn.execute(
        "select account_id, credit_type, amount, balance_before, balance_after from credits.ledger"
        " order by account_id, credit_type, transaction_id"
    ).fetchall()
    last: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        key = (row["account_id"], row["credit_type"])
        assert row["balance_before"] == last.get(key, Decimal(0)), row
        assert row["balance_after"] == row["balance_before"] + row["amount"], row
        last[key] = row["balance_after"]


def wait_until_blocked(conn: psycopg.Connection[Any], pid: int, work: Future[Any]) -> None:
    """Return once backend `pid` waits for a lock another session holds (or `work` ended: it then shows why)."""
    while not conn.execute("select cardinality(pg_blocking_pids(%s)) > 0 as blocked", (pid,)).fetchone()["blocked"]:
        if work.done():
            work.result()
            pytest.fail("the second session was expected to wait for the first, and did not")


def run(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...]) -> dict[str, Any]:
    """One call in its own transaction, committed; a locking error fails the test with what deadlocked."""
    try:
        row = conn.execute(query, params).fetchone()
        conn.commit()
    except LOCKING_ERRORS as err:
        conn.rollback()
        pytest.fail(f"{query % params}: {type(err).__name__}: {err}\n{err.diag.message_detail}")
    assert row is not None
    return row


# Many deducts, one upgrade -------------------------------------------------------------------------

WORKERS = 8
DEDUCTS_EACH = 25  # 200 credits asked for: more than pro's 100, less than premium's 500
UPGRADE_AFTER = 20  # the upgrade starts once this many deducts have committed


def test_deducts_racing_an_upgrade_never_overdraw_and_end_at_the_new_allowance_less_what_was_used(
    setup: psycopg.Connection[Any], service: Connect
) -> None:
    grant_id = subscribe_to_pro(setup, "race")
    committed = threading.Semaphore(0)
    results: list[dict[str, Any]] = []
    results_lock = threading.Lock()

    def deducts(conn: psycopg.Connection[Any], barrier: threading.Barrier) -> None:
        barrier.wait()
        for _ in range(DEDUCTS_EACH):
            row = run(conn, DEDUCT, ("race", 1))
            with results_lock:
                results.append(row)
            committed.release()

    def upgrade(conn: psycopg.Connection[Any], barrier: threading.Barrier) -> dict[str, Any]:
        barrier.wait()
        for _ in range(UPGRADE_AFTER):
            assert committed.acquire(timeout=120)
        return run(conn, EVENT, ("race-premium", "race", "premium", PERIOD_START, PERIOD_END))

    connections = [service() for _ in range(WORKERS + 1)]
    barrier = threading.Barrier(WORKERS + 1, timeout=120)
    with ThreadPoolExecutor(max_workers=WORKERS + 1) as pool:
        workers = [pool.submit(deducts, conn, barrier) for conn in connections[:WORKERS]]
        upgraded = pool.submit(upgrade, connections[WORKERS], barrier)
        for worker in workers:
            worker.result()
        assert upgraded.result()["plan"] == "premium"

    charged = [row["charged"] for row in results if row["ok"]]
    refused = [row for row in results if not row["ok"]]
    assert len(results) == WORKERS * DEDUCTS_EACH
    assert set(charged) <= {Decimal(1)}
    # A deduct is refused only when nothing was left: before the upgrade, pro's 100 all used.
    assert all(row["reason"] == "insufficient_credits" and row["available"] == 0 for row in refused), refused
    assert len(charged) >= 100 if refused else len(charged) == WORKERS * DEDUCTS_EACH
    used = sum(charged, Decimal(0))
    assert monthly(setup, "race") == {"grant_id": grant_id, "amount": 500, "remaining": 500 - used, "held": 0}
    assert balance(setup, "race") == {
        "available": 500 - used,
        "granted_this_period": 500,
        "used_this_period": used,
        "plan": "premium",
    }
    adjustments = setup.execute(
        "select amount, grant_id from credits.ledger where account_id = 'race' and kind = 'adjustment'"
    ).fetchall()
    assert adjustments == [{"amount": 400, "grant_id": grant_id}]
    debits = setup.execute("select count(*) from credits.ledger where account_id = 'race' and kind = 'debit'")
    assert debits.fetchone()["count"] == len(charged)
    assert_consistent(setup)


# Two transactions, one ordering each ------------------------------------------------------------------


def test_an_upgrade_waits_for_an_open_deduct_and_counts_what_it_used(
    setup: psycopg.Connection[Any], service: Connect
) -> None:
    """The deduct holds the balance row; the upgrade waits for it, then sees the 30 used: 470 left, not 500."""
    grant_id = subscribe_to_pro(setup, "first")
    request, webhook = service(), service()
    assert request.execute(DEDUCT, ("first", 30)).fetchone()["available"] == 70  # not committed yet

    with ThreadPoolExecutor(max_workers=1) as pool:
        upgraded = pool.submit(run, webhook, EVENT, ("first-premium", "first", "premium", PERIOD_START, PERIOD_END))
        wait_until_blocked(setup, webhook.info.backend_pid, upgraded)
        request.commit()
        assert upgraded.result()["plan"] == "premium"

    assert monthly(setup, "first") == {"grant_id": grant_id, "amount": 500, "remaining": 470, "held": 0}
    assert balance(setup, "first")["available"] == 470
    assert_consistent(setup)


def test_a_deduct_waits_for_an_open_upgrade_and_draws_from_the_new_allowance(
    setup: psycopg.Connection[Any], service: Connect
) -> None:
    """The upgrade holds the account and balance rows; a deduct of 150 (more than pro's 100) waits, then succeeds."""
    grant_id = subscribe_to_pro(setup, "second")
    webhook, request = service(), service()
    assert webhook.execute(EVENT, ("second-premium", "second", "premium", PERIOD_START, PERIOD_END)).fetchone()

    with ThreadPoolExecutor(max_workers=1) as pool:
        deducted = pool.submit(run, request, DEDUCT, ("second", 150))
        wait_until_blocked(setup, request.info.backend_pid, deducted)
        webhook.commit()
        row = deducted.result()

    assert (row["ok"], row["charged"], row["available"]) == (True, 150, 350)
    draws = setup.execute("select draws from credits.ledger where transaction_id = %s", (row["transaction_id"],))
    assert draws.fetchone()["draws"] == [{"grant_id": grant_id, "amount": 150}]
    assert monthly(setup, "second") == {"grant_id": grant_id, "amount": 500, "remaining": 350, "held": 0}
    assert_consistent(setup)


def test_an_upgrade_waiting_for_a_transaction_of_several_deducts_does_not_deadlock(
    setup: psycopg.Connection[Any], service: Connect
) -> None:
    """A request deducts, the upgrade queues behind it, the request deducts again (a keyed, period-limited
    feature: the balance row, then the period counter) and commits: both finish, in that order."""
    setup.execute("select credits.set_plan_feature(p, 'chapter', period_limit => 5) from unnest(array['pro', 'premium']) p")
    subscribe_to_pro(setup, "both")
    request, webhook = service(), service()
    assert request.execute(DEDUCT, ("both", 60)).fetchone()["ok"]

    with ThreadPoolExecutor(max_workers=1) as pool:
        upgraded = pool.submit(run, webhook, EVENT, ("both-premium", "both", "premium", PERIOD_START, PERIOD_END))
        wait_until_blocked(setup, webhook.info.backend_pid, upgraded)
        again = request.execute(
            "select * from credits.deduct_credits('both', 'chapter', idempotency_key => 'chapter-1')"
        ).fetchone()
        assert (again["ok"], again["available"]) == (True, 39)
        request.commit()
        assert upgraded.result()["plan"] == "premium"

    assert balance(setup, "both")["available"] == 500 - 61
    assert_consistent(setup)



# Deducts racing a renewal ------------------------------------------------------------------------------
# A subscriber whose provider period has ended waits for the renewal event. Its callers read the account
# under a key-share lock and the event locks it FOR UPDATE: no debit is counted in the period the renewal
# replaces (it would reset the new period's counters), and a caller that must then write the account row
# (a daily grant due) does not deadlock with the waiting event.

P1_START = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
P1_END = datetime(2026, 4, 10, 12, tzinfo=timezone.utc)
P2_END = datetime(2026, 5, 10, 12, tzinfo=timezone.utc)
IN_THE_GAP = "2026-04-10 12:01+00"  # after P1's end, before the renewal arrives


def subscribed_and_ended(setup: psycopg.Connection[Any], account_id: str, plan: str = "empty") -> None:
    """An account subscribed to pro for P1 with 1000 purchased credits; the clock of `setup` moved past P1."""
    setup.execute("set credits.now = '2026-03-10 12:00+00'")
    setup.execute("select credits.open_account(%s, %s)", (account_id, plan))
    setup.execute(EVENT, (f"{account_id}-p1", account_id, "pro", P1_START, P1_END))
    setup.execute("select credits.purchase_credits(%s, 1000, %s)", (account_id, f"pay-{account_id}"))
    setup.execute("select set_config('credits.now', %s, false)", (IN_THE_GAP,))


def at_gap_time(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    conn.execute("select set_config('credits.now', %s, false)", (IN_THE_GAP,))
    conn.commit()
    return conn


def test_deducts_racing_a_renewal_count_each_debit_in_one_period_only(
    setup: psycopg.Connection[Any], service: Connect
) -> None:
    subscribed_and_ended(setup, "renew")
    connections = [at_gap_time(service()) for _ in range(WORKERS + 1)]

    def deducts(conn: psycopg.Connection[Any], barrier: threading.Barrier) -> None:
        barrier.wait()
        for _ in range(DEDUCTS_EACH):
            assert run(conn, DEDUCT, ("renew", 1))["ok"]

    def renew(conn: psycopg.Connection[Any], barrier: threading.Barrier) -> dict[str, Any]:
        barrier.wait()
        return run(conn, EVENT, ("renew-p2", "renew", "pro", P1_END, P2_END))

    barrier = threading.Barrier(WORKERS + 1, timeout=120)
    with ThreadPoolExecutor(max_workers=WORKERS + 1) as pool:
        workers = [pool.submit(deducts, conn, barrier) for conn in connections[:WORKERS]]
        renewed = pool.submit(renew, connections[WORKERS], barrier)
        for worker in workers:
            worker.result()
        assert renewed.result()["period_start"] == P1_END

    renewal = setup.execute(
        "select transaction_id from credits.ledger where account_id = 'renew' and kind = 'grant'"
        " and created_at = %s",
        (IN_THE_GAP,),
    ).fetchone()["transaction_id"]
    after = setup.execute(
        "select count(*) from credits.ledger where account_id = 'renew' and kind = 'debit' and transaction_id > %s",
        (renewal,),
    ).fetchone()["count"]
    assert balance(setup, "renew") == {
        "available": 1000 + 100 - WORKERS * DEDUCTS_EACH,
        "granted_this_period": 100,  # a debit counted in P1 after the renewal would have reset it to 0
        "used_this_period": after,
        "plan": "pro",
    }
    assert_consistent(setup)


def test_a_caller_awaiting_the_renewal_writes_the_account_without_deadlocking_with_the_event(
    setup: psycopg.Connection[Any], service: Connect
) -> None:
    """R deducts in the gap (key share), the renewal queues FOR UPDATE, R's next call must write the account
    row (a daily grant is due at the next local midnight): R goes first, then the renewal."""
    setup.execute("""select credits.upsert_plan('drip', daily_allowance => '{"credits": 2}')""")
    setup.execute("select credits.set_plan_feature('drip', 'roast')")
    subscribed_and_ended(setup, "esc", plan="drip")
    setup.execute(EVENT, ("esc-drip", "esc", "drip", P1_START, P1_END))  # downgrade to drip, scheduled
    setup.execute("select credits.deduct_credits('esc', 'roast')")  # settles the downgrade and today's grant
    request, webhook = at_gap_time(service()), at_gap_time(service())
    assert request.execute(DEDUCT, ("esc", 1)).fetchone()["ok"]

    with ThreadPoolExecutor(max_workers=1) as pool:
        renewed = pool.submit(run, webhook, EVENT, ("esc-p2", "esc", "drip", P1_END, P2_END))
        wait_until_blocked(setup, webhook.info.backend_pid, renewed)
        request.execute("select set_config('credits.now', '2026-04-11 00:00:01+00', true)")
        row = request.execute(DEDUCT, ("esc", 1)).fetchone()
        assert row["ok"]
        request.commit()
        assert renewed.result()["period_start"] == P1_END

    grants = setup.execute(
        "select local_day::text from credits_private.grants where account_id = 'esc' and source = 'daily'"
        " order by local_day"
    ).fetchall()
    # Drip's: the day it was opened, the day the scheduled move back to drip took effect, the next day.
    assert [g["local_day"] for g in grants] == ["2026-03-10", "2026-04-10", "2026-04-11"]
    assert_consistent(setup)


def _cluster_statement(cluster: Cluster, template: str, name: str) -> None:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL(template).format(sql.Identifier(name)))

