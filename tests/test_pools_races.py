"""Pools under many connections at once (docs/contract.md, Teams; db/README.md, "Lock order").

A member's debit locks its own balance row, then its pool's account and
balance row: many members of one pool serialize on the pool's row, one
member's debits on its own. Nothing may overshoot the pool's balance or a
member's cap, and nothing may deadlock against the daily job, the sweeps or
a renewal of the pool, which lock members before pools.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import psycopg
from test_concurrency import (  # noqa: F401 (roles and setup are fixtures)
    DEDUCT,
    Roles,
    all_at_once,
    assert_ledger_chains,
    assert_no_negative_grant,
    available,
    open_with,
    roles,
    setup,
)

AMOUNT = "select * from credits.deduct_credits(account_id => %s, feature => 'roast', amount => %s)"


def add_member(conn: psycopg.Connection[Any], pool: str, member: str, caps: str = "{}") -> None:
    conn.execute("select credits.add_pool_member(%s, %s, %s)", (pool, member, caps))


def pool_rows(conn: psycopg.Connection[Any], pool: str) -> list[dict[str, Any]]:
    return conn.execute(
        "select transaction_id, member_id, amount from credits.ledger where account_id = %s and kind = 'debit'",
        (pool,),
    ).fetchall()


def test_32_members_debiting_a_pool_with_10_credits_left_take_exactly_10(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    open_with(setup, "pool_32", 10)
    members = [f"m32_{i:02}" for i in range(32)]
    for member in members:
        open_with(setup, member, 0)
        add_member(setup, "pool_32", member)

    def debit(i: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.service()
        barrier.wait()
        row = conn.execute(DEDUCT, (members[i], "roast", "{}", None)).fetchone()
        conn.commit()
        return row

    results = all_at_once(32, debit)  # a deadlock or serialization failure would be raised here

    assert Counter((r["ok"], r["reason"]) for r in results) == {(True, None): 10, (False, "insufficient_credits"): 22}
    assert available(setup, "pool_32") == 0
    winners = sorted(members[i] for i, r in enumerate(results) if r["ok"])
    assert sorted(r["member_id"] for r in pool_rows(setup, "pool_32")) == winners
    assert_no_negative_grant(setup)
    assert_ledger_chains(setup)
    assert setup.execute("select count(*) as n from credits.reconciliation").fetchone() == {"n": 0}


def test_16_concurrent_debits_of_one_member_never_pass_its_cap(setup: psycopg.Connection[Any], roles: Roles) -> None:
    open_with(setup, "pool_cap", 100)
    open_with(setup, "capped", 2)  # its own 2 first, then at most 5 of the pool's
    add_member(setup, "pool_cap", "capped", '{"credits": 5}')

    def debit(_: int, barrier: threading.Barrier) -> dict[str, Any]:
        conn = roles.service()
        barrier.wait()
        row = conn.execute(DEDUCT, ("capped", "roast", "{}", None)).fetchone()
        conn.commit()
        return row

    results = all_at_once(16, debit)

    assert Counter((r["ok"], r["reason"]) for r in results) == {(True, None): 7, (False, "insufficient_credits"): 9}
    assert available(setup, "capped") == 0
    assert available(setup, "pool_cap") == 95
    assert setup.execute(
        "select pool_available, pool_cap_remaining from credits.get_balance('capped') where credit_type = 'credits'"
    ).fetchone() == {"pool_available": 0, "pool_cap_remaining": 0}
    reached = setup.execute(
        "select count(*) as n from credits.events where account_id = 'capped' and kind = 'member_cap_reached'"
    ).fetchone()
    assert reached == {"n": 1}  # once, however many debits raced past it
    assert_ledger_chains(setup)
    assert setup.execute("select count(*) as n from credits.reconciliation").fetchone() == {"n": 0}


T0 = datetime(2026, 3, 8, 12, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 3, 9, 0, 30, tzinfo=timezone.utc)  # a new local day in UTC


def at(conn: psycopg.Connection[Any], moment: datetime) -> psycopg.Connection[Any]:
    conn.execute("select set_config('credits.now', %s, false)", (moment.isoformat(),))
    conn.commit()
    return conn


def test_members_debiting_their_pools_race_the_daily_job_the_sweep_and_a_renewal_without_deadlock(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    """Pools named to sort before their members, so only "pools last" keeps the job's lock order.

    Every member and every pool has a daily allowance of 5; just after midnight
    the job, the expiry sweep, a renewal of each pool and 8 debiting
    connections run at once. No locking error; no pool gives more than it
    had, no member more than its cap; every ledger chain holds.
    """
    setup.execute("select credits.upsert_plan('drip', daily_allowance => '{\"credits\": 5}')")
    setup.execute("select credits.set_plan_feature('drip', 'roast')")
    setup.execute("select set_config('credits.now', %s, false)", (T0.isoformat(),))
    pools = ["a_pool_0", "a_pool_1"]
    members = [f"dm_{i:02}" for i in range(24)]
    for account in pools + members:
        setup.execute("select credits.open_account(%s, 'drip')", (account,))
    for i, member in enumerate(members):
        add_member(setup, pools[i % 2], member, '{"credits": 3}' if i % 3 == 0 else "{}")
    setup.execute("select * from credits.grant_daily_credits()")

    rng = random.Random(20261202)
    picks = [[rng.choice(members) for _ in range(30)] for _ in range(8)]

    def work(i: int, barrier: threading.Barrier) -> Any:
        conn = at(roles.admin() if i < 3 else roles.service(), T1)
        barrier.wait()
        if i == 0:
            conn.execute("select * from credits.grant_daily_credits()")
            conn.commit()
            return None
        if i == 1:
            conn.execute("select * from credits.expire_grants()")
            conn.commit()
            return None
        if i == 2:
            for pool in pools:
                conn.execute(
                    "select credits.apply_subscription_event(event_id => %s, account_id => %s, plan => 'drip',"
                    " status => 'active', period_start => %s, period_end => %s)",
                    (f"renew_{pool}", pool, T1.isoformat(), datetime(2026, 4, 9, tzinfo=timezone.utc).isoformat()),
                )
                conn.commit()
            return None
        outcomes = []
        for member in picks[i - 3]:
            row = conn.execute(AMOUNT, (member, 2)).fetchone()
            conn.commit()
            outcomes.append((member, row["ok"], row["reason"]))
        return outcomes

    results = all_at_once(11, work)  # a deadlock or serialization failure would be raised here

    debits = [outcome for outcomes in results[3:] for outcome in outcomes]
    assert {reason for _, ok, reason in debits if not ok} <= {"insufficient_credits"}
    assert any(ok for _, ok, _ in debits)
    assert_no_negative_grant(setup)
    assert_ledger_chains(setup)
    assert setup.execute("select count(*) as n from credits.reconciliation").fetchone() == {"n": 0}
    taken = setup.execute(
        "select member_id, sum(-amount) as taken from credits.ledger where account_id = any(%s) and kind = 'debit'"
        " and created_at = %s group by 1",
        (pools, T1.isoformat()),
    ).fetchall()
    capped = {member for i, member in enumerate(members) if i % 3 == 0}
    assert all(row["taken"] <= Decimal(3) for row in taken if row["member_id"] in capped)
