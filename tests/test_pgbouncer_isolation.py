"""Through PgBouncer in transaction mode under load, no request sees another's role or claims (issue 5 "Faults").

The gateway and the clients set the role and `request.jwt.claims` with
`set_config(..., true)`: transaction-local, so a pooled server connection
carries nothing into the next client's transaction. 16 threads, each its
own identity (12 users, 2 services, 2 callers that set nothing), run many
short transactions through PgBouncer (4 server connections, round robin),
and each transaction checks what it sees: its own role, its own claims, only
its own account's rows, and its own debits counted exactly.
"""

from __future__ import annotations

import json
import threading

import psycopg
import pytest

ROUNDS = 60
USERS = [f"iso_{i}" for i in range(12)]


@pytest.fixture
def accounts(db: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select tests.catalog()")
        conn.execute("select credits.upsert_plan('empty')")
        conn.execute("select credits.set_plan_feature('empty', 'roast')")
        for user in USERS:
            conn.execute("select credits.open_account(%s, 'empty')", (user,))
            conn.execute("select credits.grant_credits(%s, 1000, 'promo')", (user,))


def test_no_transaction_sees_another_identity(pgbouncer: str, accounts: None) -> None:
    identities: list[tuple[str | None, str | None]] = [("credits_user", u) for u in USERS]
    identities += [("credits_service", None)] * 2 + [(None, None)] * 2
    barrier = threading.Barrier(len(identities))
    problems: list[str] = []
    debits: dict[str, int] = {}

    def client(role: str | None, sub: str | None) -> None:
        with psycopg.connect(pgbouncer, prepare_threshold=None) as conn:
            barrier.wait()
            for n in range(ROUNDS):
                with conn.transaction():
                    if role is not None:
                        claims = json.dumps({"sub": sub, "role": role}) if sub else ""
                        conn.execute("select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)",
                                     (role, claims))
                    seen = conn.execute(
                        "select current_user, coalesce(current_setting('request.jwt.claims', true), ''),"
                        " pg_backend_pid()").fetchone()
                    expected_user = role or "postgres"
                    got_sub = json.loads(seen[1]).get("sub") if seen[1] else None
                    if seen[0] != expected_user or got_sub != sub:
                        problems.append(f"{role}/{sub} saw {seen[0]}/{got_sub}")
                    if role == "credits_user":
                        accounts_seen = {a for (a,) in conn.execute("select distinct account_id from credits.ledger")}
                        if accounts_seen != {sub}:
                            problems.append(f"{sub} saw the ledger of {sorted(accounts_seen)}")
                        if n % 3 == 0:
                            (ok,) = conn.execute("select ok from credits.deduct_credits(%s, 'roast')",
                                                 (sub,)).fetchone()
                            assert ok
                            debits[sub] = debits.get(sub, 0) + 1

    threads = [threading.Thread(target=client, args=identity) for identity in identities]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
    with psycopg.connect(pgbouncer) as conn:
        for user in USERS:
            (n,) = conn.execute("select count(*) from credits.ledger where account_id = %s and kind = 'debit'",
                                (user,)).fetchone()
            assert n == debits[user] == len(range(0, ROUNDS, 3)), user
        backends = conn.execute("select count(*) from pg_stat_activity where datname = current_database()"
                                " and backend_type = 'client backend'").fetchone()[0]
    assert backends <= 5, "PgBouncer should have pooled the 16 clients onto a few server connections"
