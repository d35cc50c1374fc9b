"""Hostile input to every kind of argument: a clear error and nothing changed (issue 5 "Attacks").

SQL in text arguments, huge, negative, NaN and infinite amounts and units,
a megabyte of metadata or reason, oversized keys, unknown units and time
zones. Each call runs as the role a real caller would have and must raise
the SQLSTATE of SPEC §2 (PT422 invalid argument, PT404 unknown name) with
a message naming what was wrong, and leave every table as it was. (Forged
or expired JWTs and forbidden `role` claims are the gateway's:
tests/test_gateway*.py.)
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from pgcredits.dev.cluster import Cluster

INJECTION = "x'); drop table credits_private.ledger_entries; --"
QUOTED = INJECTION.replace("'", "''")  # as a literal inside the calls below
MEGABYTE = "a" * 1_000_000
DEEP = '{"a": ' * 3000 + "1" + "}" * 3000

# (role, call, expected SQLSTATE, a fragment the message must contain)
CASES: list[tuple[str, str, str, str]] = [
    # amounts
    ("credits_service", "select * from credits.deduct_credits('victim', 'roast', amount => 'NaN')", "PT422", "finite"),
    ("credits_service", "select * from credits.deduct_credits('victim', 'roast', amount => 'Infinity')", "PT422",
     "finite"),
    ("credits_service", "select * from credits.deduct_credits('victim', 'roast', amount => -5)", "PT422", "amount"),
    ("credits_service", "select * from credits.deduct_credits('victim', 'roast', amount => 0)", "PT422", "amount"),
    ("credits_service", "select * from credits.grant_credits('victim', '-Infinity', 'promo')", "PT422", "finite"),
    ("credits_service", "select * from credits.grant_credits('victim', 1e30, 'promo')", "PT422", "too large"),
    ("credits_service", "select * from credits.grant_credits('victim', 0.0000001, 'promo')", "PT422",
     "decimal places"),
    ("credits_service", "select * from credits.purchase_credits('victim', 'NaN', 'pay_1')", "PT422", "finite"),
    ("credits_service", "select * from credits.reserve_credits('victim', 'roast', amount => 'NaN')", "PT422",
     "finite"),
    ("credits_admin", "select * from credits.refund_transaction(%(debit)s, 'test', -1)", "PT422", "amount"),
    ("credits_service", "select * from credits.capture_hold(%(hold)s, 'NaN')", "PT422", "finite"),
    # units
    ("credits_service", """select * from credits.deduct_credits('victim', 'video', '{"seconds": -50}')""", "PT422",
     "seconds"),
    ("credits_service", """select * from credits.deduct_credits('victim', 'video', '{"seconds": "NaN"}')""", "PT422",
     "seconds"),
    ("credits_service", """select * from credits.deduct_credits('victim', 'video', '{"seconds": 1e40}')""", "PT422",
     "largest amount"),
    ("credits_service", """select * from credits.deduct_credits('victim', 'video', '{"parsecs": 1}')""", "PT422",
     "unknown unit parsecs"),
    ("credits_service", "select * from credits.deduct_credits('victim', 'video', '[1]')", "PT422", "units"),
    ("credits_service", """select * from credits.check_feature('victim', 'video', '{"seconds": "1; select 1"}')""",
     "PT422", "seconds"),
    # text with SQL in it is data: unknown names are PT404, nothing runs
    ("credits_service", f"select * from credits.deduct_credits('{QUOTED}', 'roast')",
     "PT404", "drop table"),
    ("credits_service", f"select * from credits.deduct_credits('victim', '{QUOTED}')",
     "PT404", "drop table"),
    ("credits_service",
     f"select * from credits.grant_credits('victim', 1, 'promo', credit_type => '{QUOTED}')",
     "PT404", "drop table"),
    ("credits_service",
     f"select * from credits.open_account('v2', plan => '{QUOTED}')", "PT404",
     "drop table"),
    # sizes
    ("credits_service", f"select * from credits.deduct_credits('victim', 'roast', metadata => jsonb_build_object("
                        f"'x', repeat('a', 1000000)))", "PT422", "at most 16384"),
    ("credits_service", "select * from credits.open_account('v3', metadata => jsonb_build_object('x', "
                        "repeat('a', 1000000)))", "PT422", "at most 16384"),
    ("credits_service", "select * from credits.capture_hold(%(hold)s, metadata => jsonb_build_object('x', "
                        "repeat('a', 1000000)))", "PT422", "at most 16384"),
    ("credits_service", "select * from credits.deduct_credits('victim', 'roast', metadata => '[]')", "PT422",
     "JSON object"),
    ("credits_service", "select * from credits.deduct_credits('victim', 'roast', idempotency_key => "
                        "repeat('k', 100000))", "PT422", "idempotency_key must be 1 to 255"),
    ("credits_service", "select * from credits.reserve_credits('victim', 'roast', idempotency_key => repeat('k', 256))",
     "PT422", "idempotency_key must be 1 to 255"),
    ("credits_service", "select * from credits.grant_credits('victim', 1, 'promo', idempotency_key => '')", "PT422",
     "idempotency_key must be 1 to 255"),
    ("credits_service", "select * from credits.purchase_credits('victim', 5, repeat('p', 100000))", "PT422",
     "payment_ref must be 1 to 255"),
    ("credits_service", "select * from credits.grant_credits('victim', 5, 'admin', reason => repeat('r', 1000000))",
     "PT422", "at most 1000"),
    ("credits_service", "select * from credits.grant_credits('victim', 5, 'promo', reason => repeat('r', 1001))",
     "PT422", "at most 1000"),
    ("credits_admin", "select * from credits.void_grant(%(grant)s, repeat('r', 1000000))", "PT422", "at most 1000"),
    ("credits_service", "select * from credits.open_account(repeat('a', 201))", "PT422", "account_id"),
    ("credits_service", "select * from credits.open_account('')", "PT422", "account_id"),
    ("credits_service", "select * from credits.apply_subscription_event(repeat('e', 256), 'victim', 'pro', 'active', "
                        "credits.now(), credits.now() + interval '1 month')", "PT422", "event_id"),
    # issue 9 item 11: JSON nested 3,000 deep (a few kB) is refused before anything walks it
    ("credits_service", f"select * from credits.deduct_credits('victim', 'roast', idempotency_key => 'deep', "
                        f"metadata => '{DEEP}')", "PT422", "metadata is nested more than 64 levels deep"),
    ("credits_service", f"select * from credits.open_account('v6', metadata => '{DEEP}')", "PT422",
     "metadata is nested more than 64 levels deep"),
    ("credits_service", f"select * from credits.capture_hold(%(hold)s, metadata => '{DEEP}')", "PT422",
     "metadata is nested more than 64 levels deep"),
    # issue 9 item 15: units are capped like metadata (they are stored with the ledger row)
    ("credits_service", "select * from credits.deduct_credits('victim', 'video', jsonb_build_object('seconds', "
                        "('0.' || repeat('0', 16382) || '1')::numeric))", "PT422", "units is 16398 bytes"),
    ("credits_service", "select * from credits.reserve_credits('victim', 'video', jsonb_build_object('seconds', "
                        "('0.' || repeat('0', 16382) || '1')::numeric))", "PT422", "at most 16384"),
    # time zones, periods, pages
    ("credits_service", "select * from credits.open_account('v4', timezone => 'Mars/Olympus')", "PT422",
     "unknown time zone Mars/Olympus"),
    ("credits_service", "select * from credits.open_account('v5', timezone => '../../etc/passwd')", "PT422",
     "unknown time zone"),
    ("credits_service", "select * from credits.reserve_credits('victim', 'roast', ttl => '-1 minute')", "PT422", "ttl"),
    ("credits_service", "select * from credits.reserve_credits('victim', 'roast', ttl => '100 years')", "PT422",
     "ttl"),
    ("credits_service", "select * from credits.balance_at('victim', 'infinity')", "PT422", "future"),
    ("credits_service", "select * from credits.get_history('victim', page_size => 100000000)", "PT422", "page_size"),
    ("credits_service", "select * from credits.get_history('victim', page_size => -1)", "PT422", "page_size"),
    # catalog
    ("credits_admin", "select * from credits.upsert_feature('f_nan', 'credits', 'NaN')", "PT422", "finite"),
    ("credits_admin", """select * from credits.upsert_feature('f_rate', 'credits', 1, '{"seconds": -1}')""", "PT422",
     "seconds"),
    ("credits_admin", """select * from credits.upsert_plan('p_neg', signup_grant => '{"credits": -5}')""", "PT422",
     "signup_grant"),
    ("credits_admin", """select * from credits.upsert_plan('p_nan', monthly_allowance => '{"credits": "NaN"}')""",
     "PT422", "monthly_allowance"),
]

SNAPSHOT = """
select (select count(*) from credits_private.ledger_entries) as ledger,
       (select count(*) from credits_private.grants) as grants,
       (select count(*) from credits_private.holds) as holds,
       (select count(*) from credits_private.accounts) as accounts,
       (select count(*) from credits_private.events) as events,
       (select count(*) from credits_private.features) as features,
       (select count(*) from credits_private.plans) as plans,
       (select string_agg(account_id || credit_type || balance || '/' || held, ',' order by account_id, credit_type)
        from credits_private.balances) as balances
"""


@pytest.fixture(scope="module")
def victim(pg_cluster: Cluster, template_db: str) -> Iterator[tuple[psycopg.Connection[Any], dict[str, int]]]:
    """One database for all cases (each runs in a rolled-back transaction): victim, with a debit, a hold, a grant."""
    name = f"t_hostile_{secrets.token_hex(4)}"
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                      sql.Identifier(template_db)))
    conn = psycopg.connect(pg_cluster.url(name), autocommit=True, row_factory=dict_row)
    try:
        conn.execute("select tests.catalog()")
        conn.execute("select credits.open_account('victim', 'pro')")
        ids = {
            "grant": conn.execute("select grant_id from credits.grant_credits('victim', 5, 'promo')").fetchone()[
                "grant_id"],
            "debit": conn.execute("select transaction_id from credits.deduct_credits('victim', 'roast')").fetchone()[
                "transaction_id"],
            "hold": conn.execute("select hold_id from credits.reserve_credits('victim', 'roast')").fetchone()[
                "hold_id"],
        }
        yield conn, ids
    finally:
        conn.close()
        with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


@pytest.mark.parametrize(("role", "call", "sqlstate", "says"), CASES, ids=[c[1][:70] for c in CASES])
def test_hostile_input_is_refused_and_changes_nothing(victim: tuple[psycopg.Connection[Any], dict[str, int]],
                                                      role: str, call: str, sqlstate: str, says: str) -> None:
    conn, ids = victim
    before = conn.execute(SNAPSHOT).fetchone()
    with conn.transaction():
        conn.execute("select tests.act_as(%s)", (role,))
        with pytest.raises(psycopg.Error) as raised:
            with conn.transaction():
                conn.execute(call % ids if "%(" in call else call)
        conn.execute("select tests.act_as_superuser()")
        assert conn.execute(SNAPSHOT).fetchone() == before, "changed inside the failed call's transaction"
    err = raised.value
    assert err.sqlstate == sqlstate, f"{err.sqlstate}: {err.diag.message_primary}"
    assert says in (err.diag.message_primary or ""), err.diag.message_primary
    assert conn.execute(SNAPSHOT).fetchone() == before
    assert conn.execute("select to_regclass('credits_private.ledger_entries') is not null as ok").fetchone()["ok"]


# Issue 9 item 15: a value is named in the message, never echoed back whole (a 60-byte call answered 131 kB).
ECHOES = [
    "select * from credits.deduct_credits('victim', 'roast', amount => 1e131071)",
    "select * from credits.grant_credits('victim', 1e131071, 'promo')",
    "select * from credits.grant_credits('victim', 0.1e-1000, 'promo')",
    f"select * from credits.get_balance('{MEGABYTE}')",
    f"select * from credits.deduct_credits('victim', '{MEGABYTE}')",
    f"select * from credits.deduct_credits('victim', 'video', '{{\"{MEGABYTE[:20000]}\": 1}}')",
    f"select * from credits.open_account('v7', plan => '{MEGABYTE}')",
    f"select * from credits.open_account('v8', timezone => '{MEGABYTE}')",
    f"select * from credits.grant_credits('victim', 1, 'promo', credit_type => '{MEGABYTE}')",
    f"select * from credits.deduct_credits('victim', 'roast', idempotency_key => '{MEGABYTE}')",
]


@pytest.mark.parametrize("call", ECHOES, ids=[c[:60] for c in ECHOES])
def test_issue9_item15_messages_name_values_without_echoing_them(
        victim: tuple[psycopg.Connection[Any], dict[str, int]], call: str) -> None:
    conn, _ = victim
    before = conn.execute(SNAPSHOT).fetchone()
    with conn.transaction():
        conn.execute("select tests.act_as('credits_service')")
        with pytest.raises(psycopg.Error) as raised:
            with conn.transaction():
                conn.execute(call)
    err = raised.value
    assert err.sqlstate in ("PT422", "PT404"), f"{err.sqlstate}: {str(err)[:200]}"
    for part in (err.diag.message_primary, err.diag.message_detail, err.diag.message_hint):
        assert len(part or "") < 300, (part or "")[:300]
    assert conn.execute(SNAPSHOT).fetchone() == before


def test_issue9_item15_a_users_history_page_is_at_most_100_rows(
        victim: tuple[psycopg.Connection[Any], dict[str, int]]) -> None:
    """A row may carry 32 kB of metadata and units: 1,000 of them reached 16 MB, so users page by 100."""
    conn, _ = victim
    with conn.transaction(force_rollback=True):
        conn.execute("select tests.act_as('credits_user', 'victim')")
        assert len(conn.execute("select * from credits.get_history('victim', 100)").fetchall()) >= 1
        with pytest.raises(psycopg.Error) as raised:
            with conn.transaction():
                conn.execute("select * from credits.get_history('victim', 101)")
    assert raised.value.sqlstate == "PT422"
    assert "between 1 and 100 for a credits_user, got 101" in (raised.value.diag.message_primary or "")
    with conn.transaction(force_rollback=True):
        conn.execute("select tests.act_as('credits_service')")
        assert conn.execute("select * from credits.get_history('victim', 1000)").fetchall()
