"""Every role against every public function and view and every private table (SPEC §3; issue 5 "Attacks").

The rules below are written from SPEC §3 (and docs/decisions.md where we
decided), not read from the grants, and the catalog is read to find what
exists: a function or view in `credits` without a rule here fails
`test_every_public_object_has_a_rule`, so nothing new ships unexamined.

Roles, as the gateway and PostgREST act (role and `request.jwt.claims`
set transaction-locally): `anonymous` (a role with no pgcredits grant),
`user_a` (credits_user, sub alice), `user_b` (credits_user, sub bob),
`service`, `admin`, `auditor`. Every call targets alice's account or her
holds, grants and transactions, in a transaction rolled back afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.rows import dict_row

from pgcredits.cluster import Cluster

ROLES = ("anonymous", "user_a", "user_b", "service", "admin", "auditor")
ACTS_AS = {
    "user_a": ("credits_user", "alice"),
    "user_b": ("credits_user", "bob"),
    "service": ("credits_service", None),
    "admin": ("credits_admin", None),
    "auditor": ("credits_auditor", None),
}

OK, DENIED, NOT_FOUND = "ok", "42501", "PT404"
SERVICE, ADMIN, AUDITOR, USER = "service", "admin", "auditor", "user"


@dataclass(frozen=True)
class Rule:
    """Who may call a function (SPEC §3) and what another user gets for alice's object.

    `call` is the sample call, with %(name)s placeholders filled from the fixture's ids.
    """

    call: str
    may: frozenset[str]
    other_user: str = DENIED  # user_b calling it on alice's account or object, when users may call it


def rule(call: str, *may: str, other_user: str = DENIED) -> Rule:
    return Rule(call, frozenset(may), other_user)


EVERY_BACKEND = (SERVICE, ADMIN)
FUNCTIONS: dict[str, Rule] = {
    # Accounts and balances
    "open_account": rule("select * from credits.open_account('carol')", *EVERY_BACKEND),
    "set_account_status": rule("select * from credits.set_account_status('alice', 'suspended', 'test')",
                               *EVERY_BACKEND),
    "update_account": rule("select * from credits.update_account('alice', is_demo => true)", *EVERY_BACKEND),
    "get_balance": rule("select * from credits.get_balance('alice')", *EVERY_BACKEND, AUDITOR, USER),
    "balance_at": rule("select * from credits.balance_at('alice', credits.now())", *EVERY_BACKEND, AUDITOR, USER),
    "get_history": rule("select * from credits.get_history('alice')", *EVERY_BACKEND, AUDITOR, USER),
    "get_or_create_active_period": rule("select * from credits.get_or_create_active_period('alice')",
                                        *EVERY_BACKEND),
    # Spending
    "check_feature": rule("select * from credits.check_feature('alice', 'roast')", *EVERY_BACKEND, AUDITOR, USER),
    "get_quotas": rule("select * from credits.get_quotas('alice')", *EVERY_BACKEND, AUDITOR, USER),
    "deduct_credits": rule("select * from credits.deduct_credits('alice', 'roast')", *EVERY_BACKEND, USER),
    "reserve_credits": rule("select * from credits.reserve_credits('alice', 'roast')", *EVERY_BACKEND, USER),
    "capture_hold": rule("select * from credits.capture_hold(%(hold)s)", *EVERY_BACKEND, USER,
                         other_user=NOT_FOUND),
    "release_hold": rule("select * from credits.release_hold(%(hold)s)", *EVERY_BACKEND, USER,
                         other_user=NOT_FOUND),
    # Granting
    "grant_credits": rule("select * from credits.grant_credits('alice', 5, 'promo')", *EVERY_BACKEND),
    "purchase_credits": rule("select * from credits.purchase_credits('alice', 5, 'pay_attack')", *EVERY_BACKEND),
    "grant_daily_credits": rule("select * from credits.grant_daily_credits()", *EVERY_BACKEND),
    "grant_subscriber_monthly_credits": rule("select * from credits.grant_subscriber_monthly_credits('alice')",
                                             *EVERY_BACKEND),
    "apply_subscription_event": rule(
        "select * from credits.apply_subscription_event('evt_attack', 'alice', 'pro', 'active',"
        " credits.now() - interval '1 hour', credits.now() + interval '30 days')", *EVERY_BACKEND),
    # Corrections (admin)
    "refund_transaction": rule("select * from credits.refund_transaction(%(debit)s, 'test')", ADMIN),
    "void_grant": rule("select * from credits.void_grant(%(grant)s, 'test')", ADMIN),
    "reset_credits": rule("select * from credits.reset_credits('alice', 'test')", ADMIN),
    # Catalog (admin)
    "upsert_credit_type": rule("select * from credits.upsert_credit_type('attack_type')", ADMIN),
    "upsert_feature": rule("select * from credits.upsert_feature('attack_feature')", ADMIN),
    "upsert_plan": rule("select * from credits.upsert_plan('attack_plan')", ADMIN),
    "set_plan_feature": rule("select * from credits.set_plan_feature('free', 'premium')", ADMIN),
    # Maintenance (cron)
    "expire_grants": rule("select * from credits.expire_grants()", *EVERY_BACKEND),
    "expire_holds": rule("select * from credits.expire_holds()", *EVERY_BACKEND),
    "schedule_jobs": rule("select * from credits.schedule_jobs()", *EVERY_BACKEND),
    # Time (SPEC "Time": every function reads it; any pgcredits role may)
    "now": rule("select credits.now()", *EVERY_BACKEND, AUDITOR, USER, other_user=OK),
}

# Views: every pgcredits role may SELECT (SPEC §3: users their own rows, the auditor everything).
# per_account: rows carry account_id; user_a sees only alice's, user_b none of them.
# catalog: global rows, the same for every role. usage: an aggregate of the rows the caller may see.
PER_ACCOUNT, CATALOG, USAGE = "per_account", "catalog", "usage"
VIEWS = {
    "accounts": PER_ACCOUNT, "balances": PER_ACCOUNT, "ledger": PER_ACCOUNT, "events": PER_ACCOUNT,
    "gate_events": PER_ACCOUNT, "holds": PER_ACCOUNT, "top_consumers": PER_ACCOUNT, "reconciliation": PER_ACCOUNT,
    "subscriptions": PER_ACCOUNT, "account_usage_daily": PER_ACCOUNT,
    "credit_types": CATALOG, "features": CATALOG, "plans": CATALOG, "plan_features": CATALOG,
    "usage_daily": USAGE,
}


def expected(name: str, role: str) -> str:
    """What `role` gets from calling function `name` on alice's account or object."""
    r = FUNCTIONS[name]
    if role == "anonymous":
        return DENIED
    kind = USER if role.startswith("user_") else role
    if kind not in r.may:
        return DENIED
    return r.other_user if role == "user_b" else OK


@dataclass
class Attack:
    conn: psycopg.Connection[Any]
    ids: dict[str, int]
    anonymous: str

    def act(self, role: str) -> None:
        if role == "anonymous":
            self.conn.execute(sql.SQL("set local role {}").format(sql.Identifier(self.anonymous)))
            return
        db_role, sub = ACTS_AS[role]
        self.conn.execute("select tests.act_as(%s, %s)", (db_role, sub))

    def outcome(self, role: str, statement: str) -> tuple[str, list[dict[str, Any]]]:
        """Run `statement` as `role` in a transaction that is rolled back: ("ok", rows) or (SQLSTATE, [])."""
        try:
            with self.conn.transaction(force_rollback=True):
                self.act(role)
                rows = self.conn.execute(statement).fetchall()
                return OK, rows
        except psycopg.Error as err:
            assert err.sqlstate is not None, err
            return err.sqlstate, []


@pytest.fixture
def attack(pg_cluster: Cluster, db: str) -> Iterator[Attack]:
    """alice (pro, 50 promo credits, a debit, a refusal, an open hold), bob, and a role with no pgcredits grant."""
    anonymous = f"anon_{secrets.token_hex(6)}"
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("create role {} nologin").format(sql.Identifier(anonymous)))
    conn = psycopg.connect(db, autocommit=True, row_factory=dict_row)
    try:
        conn.execute("select tests.catalog()")
        conn.execute("select credits.open_account('alice', 'pro'), credits.open_account('bob')")
        ids = {
            "grant": conn.execute("select grant_id from credits.grant_credits('alice', 50, 'promo')").fetchone()[
                "grant_id"],
            "debit": conn.execute("select transaction_id from credits.deduct_credits('alice', 'roast')").fetchone()[
                "transaction_id"],
            "hold": conn.execute("select hold_id from credits.reserve_credits('alice', 'roast')").fetchone()["hold_id"],
        }
        conn.execute("select credits.deduct_credits('alice', 'roast', amount => 1000)")  # a feature_gated event
        yield Attack(conn, ids, anonymous)
    finally:
        conn.close()
        with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop role {}").format(sql.Identifier(anonymous)))


def test_every_public_object_has_a_rule(attack: Attack) -> None:
    functions = {r["proname"] for r in attack.conn.execute(
        "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'credits'")}
    views = {r["relname"] for r in attack.conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'credits'")}
    assert functions - FUNCTIONS.keys() == set(), "functions in credits without a rule in tests/test_attacks.py"
    assert views - VIEWS.keys() == set(), "relations in credits without a rule in tests/test_attacks.py"
    assert FUNCTIONS.keys() - functions == set() and VIEWS.keys() - views == set(), "rules for objects that are gone"


def test_every_role_against_every_function(attack: Attack) -> None:
    table = {}
    for name, r in sorted(FUNCTIONS.items()):
        for role in ROLES:
            table[(name, role)] = attack.outcome(role, r.call % attack.ids)[0]
    wrong = {key: got for key, got in table.items() if got != expected(*key)}
    assert wrong == {}, "\n".join(f"{name} as {role}: got {got}, expected {expected(name, role)}"
                                  for (name, role), got in sorted(wrong.items()))


def test_every_role_against_every_view(attack: Attack) -> None:
    for view, kind in sorted(VIEWS.items()):
        statement = f"select * from credits.{view}"
        assert attack.outcome("anonymous", statement)[0] == DENIED, view
        seen = {}
        for role in ROLES[1:]:
            state, rows = attack.outcome(role, statement)
            assert state == OK, f"{role} on credits.{view}: {state}"
            seen[role] = rows
        if kind == PER_ACCOUNT:
            for role in ("user_a", "user_b"):
                owner = ACTS_AS[role][1]
                assert all(row["account_id"] == owner for row in seen[role]), f"{role} sees others in {view}"
            for role in ("service", "admin", "auditor"):
                accounts = {row["account_id"] for row in seen[role]}
                if view != "reconciliation":  # empty while the ledger reconciles (checked after every test)
                    assert "alice" in accounts, f"{role} does not see alice in {view}"
            if view != "reconciliation":
                assert seen["user_a"], f"alice sees none of her rows in {view}"
        elif kind == CATALOG:
            assert all(rows == seen["service"] for rows in seen.values()), f"{view} differs between roles"
            assert seen["service"], view
        else:  # usage: bob has used nothing, alice has
            assert seen["user_b"] == [], f"bob sees usage in {view}"
            assert seen["user_a"] == seen["service"] != [], f"alice's usage in {view} is not all the usage"


def test_no_role_reaches_a_private_table(attack: Attack) -> None:
    tables = [r["relname"] for r in attack.conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'credits_private' and c.relkind in ('r', 'p', 'v', 'm')")]
    assert len(tables) >= 10
    for table in tables:
        name = sql.Identifier("credits_private", table).as_string(attack.conn)
        for role in ROLES:
            for statement in (f"select * from {name} limit 1", f"delete from {name}"):
                state, _ = attack.outcome(role, statement)
                assert state == DENIED, f"{role}: {statement} gave {state}"


def test_a_user_without_sub_is_nobody(attack: Attack) -> None:
    """credits_user with no claims (or an empty sub) is refused, never treated as some account."""
    for claims in ("", '{"role": "credits_user"}', '{"sub": ""}'):
        with attack.conn.transaction(force_rollback=True):
            attack.conn.execute("set local role credits_user")
            attack.conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
            with pytest.raises(errors.InsufficientPrivilege):
                with attack.conn.transaction():
                    attack.conn.execute("select * from credits.get_balance('alice')")
            assert attack.conn.execute("select count(*) as n from credits.ledger").fetchone()["n"] == 0, claims
