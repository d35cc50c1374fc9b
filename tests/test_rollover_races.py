"""Rollover under concurrent renewals (docs/contract.md, Billing depth; db/README.md, "Lock order").

A renewal rolls over once however many callers settle the account at once:
the account row (FOR NO KEY UPDATE in _settle_account) serializes them, and
the unique index grants_one_rollover_per_period would refuse a second grant.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import psycopg
from test_concurrency import (  # noqa: F401 (roles and setup are fixtures)
    Roles,
    all_at_once,
    assert_ledger_chains,
    roles,
    setup,
)

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 4, 12, 8, 0, tzinfo=timezone.utc)  # the next period


def at(conn: psycopg.Connection[Any], moment: datetime) -> psycopg.Connection[Any]:
    conn.execute("select set_config('credits.now', %s, false)", (moment.isoformat(),))
    conn.commit()
    return conn


def test_two_sessions_renewing_at_once_roll_over_once(setup: psycopg.Connection[Any], roles: Roles) -> None:
    setup.execute("select credits.upsert_plan('roll', monthly_allowance => '{\"credits\": 100}',"
                  " rollover => '{\"credits\": {\"max\": 40, \"fraction\": 0.5}}')")
    setup.execute("select credits.set_plan_feature('roll', 'roast')")
    setup.execute("select set_config('credits.now', %s, false)", (T0.isoformat(),))
    accounts = [f"rr_{i}" for i in range(6)]
    for account in accounts:
        setup.execute("select credits.open_account(%s, 'roll')", (account,))
        setup.execute("select credits.deduct_credits(%s, 'roast', amount => 30)", (account,))
    setup.execute("select set_config('credits.now', %s, false)", (T1.isoformat(),))
    before = {a: setup.execute("select available from credits.get_balance(%s) where credit_type = 'credits'",
                               (a,)).fetchone()["available"] for a in accounts}
    assert before == {a: Decimal("135") for a in accounts}

    def work(i: int, barrier: threading.Barrier) -> Any:
        conn = at(roles.service(), T1)
        barrier.wait()
        for account in accounts:
            conn.execute("select credits.deduct_credits(%s, 'roast')", (account,))
            conn.commit()
        return True

    assert all_at_once(2, work) == [True, True]
    rows = setup.execute(
        "select account_id, count(*) as n, sum(amount) as rolled from credits_private.grants"
        " where source = 'rollover' group by 1 order by 1").fetchall()
    assert rows == [{"account_id": a, "n": 1, "rolled": Decimal("35")} for a in accounts]
    after = {a: setup.execute("select available from credits.get_balance(%s) where credit_type = 'credits'",
                              (a,)).fetchone()["available"] for a in accounts}
    assert after == {a: Decimal("133") for a in accounts}  # what the read before said, less two debits
    assert_ledger_chains(setup)
    assert setup.execute("select count(*) as n from credits.reconciliation").fetchone() == {"n": 0}
