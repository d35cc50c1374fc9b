"""Many connections at once against the ledger: what pgTAP cannot see (docs/development.md).

Every caller is a login role of its own, member of `credits_service` (or
`credits_admin` for refunds), connected the way a backend would be. Workers
start together at a `threading.Barrier`, each on its own connection, each
call in its own transaction, committed. Nothing waits on a clock: the
outcomes are checked, never the timings.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.rows import dict_row

from pgcredits.dev.cluster import Cluster

Connect = Callable[[], psycopg.Connection[Any]]

# The errors no number of concurrent callers may ever cause.
LOCKING_ERRORS = (errors.DeadlockDetected, errors.SerializationFailure, errors.LockNotAvailable)

DEDUCT = "select * from credits.deduct_credits(account_id => %s, feature => %s, units => %s, idempotency_key => %s)"


@dataclass
class Roles:
    """Connection factories for a backend (`credits_service`) and an admin tool (`credits_admin`)."""

    service: Connect
    admin: Connect


@pytest.fixture
def roles(pg_cluster: Cluster, db: str) -> Iterator[Roles]:
    """Two login roles made for this test; their connections are closed and the roles dropped after it.

    Roles are cluster-wide: the names are unique and nothing outlives the test.
    """
    service, admin = f"app_{secrets.token_hex(6)}", f"app_admin_{secrets.token_hex(6)}"
    connections: list[psycopg.Connection[Any]] = []

    def factory(role: str) -> Connect:
        def connect() -> psycopg.Connection[Any]:
            connections.append(psycopg.connect(db, user=role, row_factory=dict_row))
            return connections[-1]

        return connect

    _cluster_statement(pg_cluster, "create role {} login in role credits_service", service)
    _cluster_statement(pg_cluster, "create role {} login in role credits_admin", admin)
    try:
        yield Roles(service=factory(service), admin=factory(admin))
    finally:
        for conn in connections:
            conn.close()
        _cluster_statement(pg_cluster, "drop role {}", service)
        _cluster_statement(pg_cluster, "drop role {}", admin)


@pytest.fixture
def setup(db: str) -> Iterator[psycopg.Connection[Any]]:
    """A superuser connection (autocommit) with the known catalog of db/tests/helpers.sql and a plan `empty`.

    `empty` has no signup grant and only `roast`, so an account on it holds exactly what it is granted.
    """
    with psycopg.connect(db, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("select tests.catalog()")
        conn.execute("select credits.upsert_plan('empty')")
        conn.execute("select credits.set_plan_feature('empty', 'roast')")
        yield conn


def open_with(conn: psycopg.Connection[Any], account_id: str, credits: int, plan: str = "empty") -> None:
    conn.execute("select credits.open_account(%s, %s)", (account_id, plan))
    if credits:
        conn.execute("select credits.grant_credits(%s, %s, 'promo')", (account_id, credits))


def available(conn: psycopg.Connection[Any], account_id: str, credit_type: str = "credits") -> Decimal:
    row = conn.execute(
        "select available from credits.get_balance(%s) where credit_type = %s", (account_id, credit_type)
    ).fetchone()
    return row["available"] if row else Decimal(0)


def all_at_once(workers: int, work: Callable[[int, threading.Barrier], Any]) -> list[Any]:
    """Run work(i, barrier) in `workers` threads; each calls barrier.wait() once its connection is open.

    Returns every result in order, or raises the first exception a worker raised.
    """
    # The timeout only turns a worker that died before the barrier into an error instead of a hang.
    barrier = threading.Barrier(workers, timeout=120)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(work, i, barrier) for i in range(workers)]
        return [future.result() for future in futures]


def assert_ledger_chains(conn: psycopg.Connection[Any]) -> None:
    """Per account and credit type, in transaction order: 0, then every balance_before is the last balance_after."""
    rows = conn.execute(
        "select transaction_id, account_id, credit_type, kind, amount, balance_before, balance_after"
        " from credits.ledger order by account_id, credit_type, transaction_id"
    ).fetchall()
    last: dict[tuple[str, str], Decimal] = {}
    breaks = []
    for row in rows:
        key = (row["account_id"], row["credit_type"])
        if row["balance_before"] != last.get(key, Decimal(0)) or row["balance_after"] != (
            row["balance_before"] + row["amount"]
        ):
            breaks.append((last.get(key), row))
        last[key] = row["balance_after"]
    assert breaks == [], "the balance_before/balance_after chain breaks"


def assert_no_negative_grant(conn: psycopg.Connection[Any]) -> None:
    negative = conn.execute(
        "select account_id, grant_id, remaining from credits_private.grants where remaining < 0"
    ).fetchall()
    assert negative == []


# --------------------------------------------------------------------------------------------------


def test_32_concurrent_debits_of_an_account_with_10_credits_never_overdraw(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    open_with(setup, "hot", 10)

    def debit(_: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.service()
        barrier.wait()
        row = conn.execute(DEDUCT, ("hot", "roast", "{}", None)).fetchone()
        conn.commit()
        return row

    results = all_at_once(32, debit)  # a deadlock or serialization failure would be raised here

    assert Counter((r["ok"], r["reason"]) for r in results) == {(True, None): 10, (False, "insufficient_credits"): 22}
    assert sorted(r["charged"] for r in results if r["ok"]) == [1] * 10
    assert len({r["transaction_id"] for r in results if r["ok"]}) == 10
    assert available(setup, "hot") == 0
    assert_no_negative_grant(setup)
    debits = setup.execute(
        "select transaction_id from credits.ledger where account_id = 'hot' and kind = 'debit'"
    ).fetchall()
    assert sorted(d["transaction_id"] for d in debits) == sorted(r["transaction_id"] for r in results if r["ok"])
    assert_ledger_chains(setup)


def test_16_concurrent_retries_with_one_idempotency_key_charge_once(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    open_with(setup, "retry", 10)

    def retry(_: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.service()
        barrier.wait()
        row = conn.execute(DEDUCT, ("retry", "roast", "{}", "render-81")).fetchone()
        conn.commit()
        return row

    results = all_at_once(16, retry)

    assert all(r["ok"] for r in results), results
    assert {r["transaction_id"] for r in results} == {results[0]["transaction_id"]}
    assert {r["charged"] for r in results} == {1}
    debits = setup.execute("select transaction_id, idempotency_key from credits.ledger where kind = 'debit'").fetchall()
    assert debits == [{"transaction_id": results[0]["transaction_id"], "idempotency_key": "render-81"}]
    assert available(setup, "retry") == 9
    assert_ledger_chains(setup)


# Mixed load ----------------------------------------------------------------------------------------

ACCOUNTS = [("mix_0", "free"), ("mix_1", "free"), ("mix_2", "pro"), ("mix_3", "pro"), ("mix_4", "empty")]
WORKERS = 8
OPERATIONS = 50
SEED = 20260310


@dataclass
class Debit:
    transaction_id: int
    charged: Decimal


class Shared:
    """What the workers tell each other: the debits committed so far, to pick refunds from."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.debits: list[Debit] = []

    def add(self, debit: Debit) -> None:
        with self.lock:
            self.debits.append(debit)

    def pick(self, rng: random.Random) -> Debit | None:
        with self.lock:
            return rng.choice(self.debits) if self.debits else None


def random_units(rng: random.Random, feature: str) -> str:
    if feature == "video":
        return f'{{"seconds": {rng.randint(1, 12)}}}'
    if feature == "chat":
        return f'{{"input_tokens": {rng.randint(0, 3000)}, "output_tokens": {rng.randint(1, 900)}}}'
    return "{}"


def mixed_worker(index: int, barrier: threading.Barrier, roles: Roles, shared: Shared) -> Counter[str]:
    rng = random.Random(SEED + index)
    service, admin = roles.service(), roles.admin()
    outcomes: Counter[str] = Counter()
    last_keyed: tuple[tuple[str, str, str, str], dict[str, Any]] | None = None
    barrier.wait()
    for n in range(OPERATIONS):
        account = rng.choice(ACCOUNTS)[0]
        op = rng.choices(["deduct", "deduct_keyed", "retry", "grant", "purchase", "refund"], [5, 2, 1, 2, 1, 2])[0]
        conn = admin if op == "refund" else service
        committed: Debit | None = None
        try:
            if op == "retry" and last_keyed is not None:
                # The same call again, as a client retrying after a lost response.
                args, first = last_keyed
                row = conn.execute(DEDUCT, args).fetchone()
                if first["ok"]:
                    assert (row["ok"], row["transaction_id"]) == (True, first["transaction_id"])
                elif row["ok"] and row["charged"] > 0:  # a refusal is not stored: the retry may succeed
                    committed = Debit(row["transaction_id"], row["charged"])
                outcomes["retry"] += 1
            elif op in ("deduct", "deduct_keyed", "retry"):  # a retry with nothing to retry yet is a keyed deduct
                feature = rng.choice(["roast", "video", "chat", "analysis_run", "chapter"])
                key = f"w{index}-op{n}" if op != "deduct" else None
                args = (account, feature, random_units(rng, feature), key)
                row = conn.execute(DEDUCT, args).fetchone()
                if key is not None:
                    last_keyed = (args, row)
                if row["ok"] and row["charged"] > 0:
                    committed = Debit(row["transaction_id"], row["charged"])
                outcomes["deduct ok" if row["ok"] else f"deduct {row['reason']}"] += 1
            elif op == "grant":
                credit_type = rng.choice(["credits", "credits", "analysis"])
                amount = Decimal(rng.randint(1, 2000)) / 100
                conn.execute(
                    "select * from credits.grant_credits(account_id => %s, amount => %s, source => 'promo',"
                    " credit_type => %s)",
                    (account, amount, credit_type),
                )
                outcomes["grant"] += 1
            elif op == "purchase":
                conn.execute(
                    "select * from credits.purchase_credits(account_id => %s, amount => %s, payment_ref => %s)",
                    (account, rng.randint(1, 50), f"pay-{index}-{n}"),
                )
                outcomes["purchase"] += 1
            else:
                debit = shared.pick(rng)
                if debit is None:
                    continue
                amount = None if rng.random() < 0.5 else max(
                    (debit.charged * Decimal(rng.random())).quantize(Decimal("0.000001")), Decimal("0.000001")
                )
                try:
                    conn.execute(
                        "select * from credits.refund_transaction(transaction_id => %s, reason => 'load test',"
                        " amount => %s)",
                        (debit.transaction_id, amount),
                    )
                    outcomes["refund"] += 1
                except psycopg.Error as err:
                    if err.sqlstate != "PT409":
                        raise
                    # Other refunds of this debit came first: never more than was charged.
                    conn.rollback()
                    outcomes["refund refused"] += 1
                    continue
            conn.commit()
            if committed is not None:
                shared.add(committed)  # refundable by others only once committed
        except errors.DeadlockDetected as err:
            detail = err.diag.message_detail
            pytest.fail(f"worker {index}, operation {n} ({op} on {account}) deadlocked: {err}\n{detail}")
        except LOCKING_ERRORS as err:
            pytest.fail(f"worker {index}, operation {n} ({op} on {account}): {type(err).__name__}: {err}")
    return outcomes


def test_mixed_load_over_five_accounts_conserves_every_credit(setup: psycopg.Connection[Any], roles: Roles) -> None:
    for account, plan in ACCOUNTS:
        open_with(setup, account, 0, plan)
    shared = Shared()

    outcomes = all_at_once(WORKERS, lambda i, barrier: mixed_worker(i, barrier, roles, shared))

    total = sum(outcomes, Counter())
    assert total["deduct ok"] > 0 and total["refund"] > 0 and total["grant"] > 0 and total["purchase"] > 0
    assert setup.execute("select * from credits.reconciliation").fetchall() == []
    ledger = {
        (r["account_id"], r["credit_type"]): r["total"]
        for r in setup.execute(
            "select account_id, credit_type, sum(amount) as total from credits.ledger group by 1, 2"
        ).fetchall()
    }
    reported = set()
    for account, _ in ACCOUNTS:
        for balance in setup.execute("select * from credits.get_balance(%s)", (account,)).fetchall():
            assert balance["held"] == 0
            assert balance["available"] == ledger.get((account, balance["credit_type"]), 0), (account, balance)
            reported.add((account, balance["credit_type"]))
    assert {key for key, total in ledger.items() if total} <= reported
    assert_no_negative_grant(setup)
    assert_ledger_chains(setup)


# Two transactions, one ordering each -------------------------------------------------------------


def test_a_grant_committed_after_the_debiting_transaction_began_pays_for_the_debit(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    """A webhook's purchase commits while a request's transaction is open: the request may spend it."""
    open_with(setup, "late", 0)
    request, webhook = roles.service(), roles.service()
    request.execute("select 1")  # the request's transaction has begun: its now() is fixed from here

    webhook.execute("select credits.purchase_credits('late', 5, 'stripe:pi_late')")
    webhook.commit()
    row = request.execute(DEDUCT, ("late", "roast", "{}", None)).fetchone()
    request.commit()

    assert (row["ok"], row["charged"], row["available"]) == (True, 1, 4)
    debit = setup.execute("select draws from credits.ledger where transaction_id = %s", (row["transaction_id"],))
    assert [draw["amount"] for draw in debit.fetchone()["draws"]] == [1]
    assert setup.execute("select * from credits.reconciliation").fetchall() == []
    assert available(setup, "late") == 4


def test_two_debits_in_one_transaction_do_not_deadlock_with_a_period_limited_debit(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    """A holds the balance (its first debit); B counts a chapter and waits for the balance; A counts a chapter.

    Every path of deduct_credits must take its locks in one order, or A and B deadlock here.
    """
    setup.execute("select credits.open_account('both', 'free')")  # 6 credits; chapter: 3 a period
    a, b = roles.service(), roles.service()
    assert a.execute(DEDUCT, ("both", "roast", "{}", "a-1")).fetchone()["ok"]

    with ThreadPoolExecutor(max_workers=1) as pool:
        b_debit = pool.submit(debit_and_commit, b, "both", "chapter", None)
        wait_until_blocked(setup, b.info.backend_pid, b_debit)
        a_debit = debit_and_commit(a, "both", "chapter", "a-2")
        assert (a_debit["ok"], b_debit.result()["ok"]) == (True, True)
    assert available(setup, "both") == 3
    assert_ledger_chains(setup)


def debit_and_commit(conn: psycopg.Connection[Any], account_id: str, feature: str, key: str | None) -> dict[str, Any]:
    try:
        row = conn.execute(DEDUCT, (account_id, feature, "{}", key)).fetchone()
        conn.commit()
    except errors.DeadlockDetected as err:
        conn.rollback()
        pytest.fail(f"deduct_credits({account_id!r}, {feature!r}, idempotency_key => {key!r}) deadlocked: {err}")
    return row


def wait_until_blocked(conn: psycopg.Connection[Any], pid: int, work: Any) -> None:
    """Return once backend `pid` waits for a lock another session holds (or `work` ended: it then shows why)."""
    while not conn.execute("select cardinality(pg_blocking_pids(%s)) > 0 as blocked", (pid,)).fetchone()["blocked"]:
        if work.done():
            work.result()
            pytest.fail("the second session was expected to wait for the first, and did not")


# The caller's transaction ------------------------------------------------------------------------


def test_a_debit_rolled_back_with_the_callers_transaction_leaves_nothing(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    open_with(setup, "tx", 10)
    ledger_before = setup.execute("select count(*) from credits.ledger").fetchone()["count"]
    conn = roles.service()

    row = conn.execute(DEDUCT, ("tx", "roast", "{}", "tx-1")).fetchone()
    assert row["ok"]
    assert available(conn, "tx") == 9  # the caller sees its own debit
    conn.rollback()

    assert setup.execute("select count(*) from credits.ledger").fetchone()["count"] == ledger_before
    assert available(setup, "tx") == 10
    # The key was never stored: the same call now charges for real.
    assert conn.execute(DEDUCT, ("tx", "roast", "{}", "tx-1")).fetchone()["ok"]
    conn.commit()
    assert available(setup, "tx") == 9


def test_a_debit_commits_with_the_callers_own_write(setup: psycopg.Connection[Any], roles: Roles) -> None:
    open_with(setup, "tx", 10)
    setup.execute("create table public.renders (id serial primary key, account_id text, transaction_id bigint)")
    setup.execute("grant select, insert on public.renders to credits_service")
    setup.execute("grant usage on sequence public.renders_id_seq to credits_service")
    conn = roles.service()

    row = conn.execute(DEDUCT, ("tx", "roast", "{}", None)).fetchone()
    conn.execute("insert into public.renders (account_id, transaction_id) values ('tx', %s)", (row["transaction_id"],))
    conn.commit()

    assert setup.execute("select account_id, transaction_id from public.renders").fetchall() == [
        {"account_id": "tx", "transaction_id": row["transaction_id"]}
    ]
    assert setup.execute(
        "select kind, amount from credits.ledger where transaction_id = %s", (row["transaction_id"],)
    ).fetchone() == {"kind": "debit", "amount": -1}
    assert available(setup, "tx") == 9


def _cluster_statement(cluster: Cluster, template: str, name: str) -> None:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL(template).format(sql.Identifier(name)))
