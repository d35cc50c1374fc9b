"""Overdraft under many connections at once (contract §8, Billing depth: overdraft).

A debit may take a balance below zero down to its plan's limit and no further. Here: 16 debits racing
into the overdraft of one account stop exactly at the limit; debits racing grants that repay the debt
never pass it either, and every ledger row, grant and debt reconciles. The fixtures and helpers are those
of tests/test_concurrency.py: every caller a login role of its own, one connection per worker, each call
its own committed transaction, workers released together by a barrier. Outcomes are checked, never timings.
"""

from __future__ import annotations

import threading
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
GRANT = "select * from credits.grant_credits(account_id => %s, amount => %s, source => 'promo')"


def overdraft_plan(conn: psycopg.Connection[Any], limit: int) -> None:
    conn.execute("select credits.upsert_plan('overdraft', overdraft => jsonb_build_object('credits', %s::numeric))",
                 (limit,))
    conn.execute("select credits.set_plan_feature('overdraft', 'roast')")


def assert_reconciles(conn: psycopg.Connection[Any]) -> None:
    assert conn.execute("select * from credits.reconciliation").fetchall() == []


def test_16_concurrent_debits_into_an_overdraft_stop_exactly_at_the_limit(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    # 20 credits and 50 of overdraft: room for exactly 10 debits of 7 (70), whoever wins.
    overdraft_plan(setup, 50)
    open_with(setup, "od_hot", 20, plan="overdraft")

    def debit(_: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.service()
        barrier.wait()
        row = conn.execute(DEDUCT, ("od_hot", 7)).fetchone()
        conn.commit()
        return row

    results = all_at_once(16, debit)

    assert sum(r["ok"] for r in results) == 10, results
    assert {r["reason"] for r in results if not r["ok"]} == {"insufficient_credits"}
    assert available(setup, "od_hot") == -50
    rows = setup.execute(
        "select sum(amount) as charged, sum(debt) as debt, min(balance_after) as lowest,"
        " sum((select sum((d ->> 'amount')::numeric) from jsonb_array_elements(draws) d)) as drawn"
        " from credits.ledger where account_id = 'od_hot' and kind = 'debit'"
    ).fetchone()
    # The grants paid 20, the other 50 became debt; no row went below the limit.
    assert rows == {"charged": Decimal(-70), "debt": Decimal(50), "lowest": Decimal(-50), "drawn": Decimal(20)}
    assert setup.execute("select balance, debt from credits.balances where account_id = 'od_hot'").fetchone() == {
        "balance": Decimal(-50),
        "debt": Decimal(50),
    }
    depleted = setup.execute(
        "select count(*) as n from credits.events where account_id = 'od_hot' and kind = 'depleted'"
    ).fetchone()
    assert depleted == {"n": 1}
    assert_no_negative_grant(setup)
    assert_ledger_chains(setup)
    assert_reconciles(setup)


def test_debits_racing_grants_that_repay_the_debt_never_pass_the_limit(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    # No credits, 30 of overdraft; 10 debits of 9 race 6 grants of 5 (each repays the debt first).
    overdraft_plan(setup, 30)
    open_with(setup, "od_mix", 0, plan="overdraft")

    def work(i: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.admin() if i % 8 < 3 else roles.service()
        barrier.wait()
        if i % 8 < 3:
            row = conn.execute(GRANT, ("od_mix", 5)).fetchone()
            row = {"granted": True, **row}
        else:
            row = conn.execute(DEDUCT, ("od_mix", 9)).fetchone()
        conn.commit()
        return row

    results = all_at_once(16, work)

    granted = sum(1 for r in results if r.get("granted"))
    debits = sum(1 for r in results if not r.get("granted") and r["ok"])
    assert granted == 6
    assert 3 <= debits <= 6, results  # 30 of overdraft pays 3 at least; the 30 granted 3 more at most
    assert available(setup, "od_mix") == 5 * granted - 9 * debits
    lowest = setup.execute(
        "select min(balance_after) as lowest from credits.ledger where account_id = 'od_mix'"
    ).fetchone()
    assert lowest["lowest"] >= -30
    grants = setup.execute(
        "select sum(g.amount) as amount, sum(g.remaining) as remaining, (select debt from credits.balances"
        " where account_id = 'od_mix') as debt from credits_private.grants g where g.account_id = 'od_mix'"
    ).fetchone()
    # Every grant repaid what was owed when it came: what is left in them less the debt is the balance.
    assert grants["remaining"] - grants["debt"] == 5 * granted - 9 * debits
    assert_no_negative_grant(setup)
    assert_ledger_chains(setup)
    assert_reconciles(setup)
