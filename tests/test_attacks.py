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
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from pgcredits.dev.cluster import Cluster

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
    "set_auto_top_up": rule("select * from credits.set_auto_top_up('alice', 'credits', 10, 50)", *EVERY_BACKEND),
    "fail_top_up": rule("select * from credits.fail_top_up('top_up_' || %(request)s, 'test')", *EVERY_BACKEND),
    "grant_daily_credits": rule("select * from credits.grant_daily_credits()", *EVERY_BACKEND),
    "grant_subscriber_monthly_credits": rule("select * from credits.grant_subscriber_monthly_credits('alice')",
                                             *EVERY_BACKEND),
    "apply_subscription_event": rule(
        "select * from credits.apply_subscription_event('evt_attack', 'alice', 'pro', 'active',"
        " credits.now() - interval '1 hour', credits.now() + interval '30 days')", *EVERY_BACKEND),
    # Teams: alice is a member of pool `team`, bob of none
    "add_pool_member": rule("select * from credits.add_pool_member('team', 'bob')", *EVERY_BACKEND),
    "set_member_caps": rule("select * from credits.set_member_caps('team', 'alice', '{\"credits\": 500}')",
                            *EVERY_BACKEND),
    "remove_pool_member": rule("select * from credits.remove_pool_member('team', 'alice')", *EVERY_BACKEND),
    "get_pool": rule("select * from credits.get_pool('team')", *EVERY_BACKEND, AUDITOR, USER),
    # Corrections (admin)
    "refund_transaction": rule("select * from credits.refund_transaction(%(debit)s, 'test')", ADMIN),
    "void_grant": rule("select * from credits.void_grant(%(grant)s, 'test')", ADMIN),
    "reset_credits": rule("select * from credits.reset_credits('alice', 'test')", ADMIN),
    "set_grant_expiry": rule("select * from credits.set_grant_expiry(%(grant)s, null, 'test')", ADMIN),
    # Catalog (admin)
    "upsert_credit_type": rule("select * from credits.upsert_credit_type('attack_type')", ADMIN),
    "upsert_feature": rule("select * from credits.upsert_feature('attack_feature')", ADMIN),
    "upsert_plan": rule("select * from credits.upsert_plan('attack_plan')", ADMIN),
    "set_plan_feature": rule("select * from credits.set_plan_feature('free', 'premium')", ADMIN),
    # Maintenance (cron)
    "expire_grants": rule("select * from credits.expire_grants()", *EVERY_BACKEND),
    "expire_holds": rule("select * from credits.expire_holds()", *EVERY_BACKEND),
    "prune_events": rule("select * from credits.prune_events()", *EVERY_BACKEND),
    "watch_events": rule("select * from credits.watch_events('attack', array['alice'])", *EVERY_BACKEND),
    "unwatch_events": rule("select * from credits.unwatch_events('attack')", *EVERY_BACKEND),
    "schedule_jobs": rule("select * from credits.schedule_jobs()", *EVERY_BACKEND),
    # Time (SPEC "Time": every function reads it; any pgcredits role may)
    "now": rule("select credits.now()", *EVERY_BACKEND, AUDITOR, USER, other_user=OK),
}

# Views: every pgcredits role may SELECT (SPEC §3: users their own rows, the auditor everything).
# per_account: rows carry account_id; user_a sees only alice's, user_b none of them.
# catalog: global rows, the same for every role. usage: an aggregate of the rows the caller may see.
# membership: rows carry member_id; user_a sees only alice's membership, user_b (in no pool) none.
PER_ACCOUNT, CATALOG, USAGE, MEMBERSHIP = "per_account", "catalog", "usage", "membership"
VIEWS = {
    "accounts": PER_ACCOUNT, "balances": PER_ACCOUNT, "ledger": PER_ACCOUNT, "events": PER_ACCOUNT,
    "gate_events": PER_ACCOUNT, "holds": PER_ACCOUNT, "top_consumers": PER_ACCOUNT, "reconciliation": PER_ACCOUNT,
    "subscriptions": PER_ACCOUNT, "account_usage_daily": PER_ACCOUNT, "auto_top_ups": PER_ACCOUNT,
    "top_up_requests": PER_ACCOUNT,
    "credit_types": CATALOG, "features": CATALOG, "plans": CATALOG, "plan_features": CATALOG,
    "usage_daily": USAGE, "revenue": USAGE, "breakage": USAGE, "pool_members": MEMBERSHIP,
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
    """alice (pro, 50 promo credits, a debit, a refusal, an open hold she made, a member of pool team), bob, and a role
    with no grant."""
    anonymous = f"anon_{secrets.token_hex(6)}"
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("create role {} nologin").format(sql.Identifier(anonymous)))
    conn = psycopg.connect(db, autocommit=True, row_factory=dict_row)
    try:
        conn.execute("select tests.catalog()")
        conn.execute("select credits.open_account('alice', 'pro'), credits.open_account('bob')")
        conn.execute("select credits.open_account('team', 'pro'), credits.add_pool_member('team', 'alice')")
        ids = {
            "grant": conn.execute("select grant_id from credits.grant_credits('alice', 50, 'promo')").fetchone()[
                "grant_id"],
            "debit": conn.execute("select transaction_id from credits.deduct_credits('alice', 'roast')").fetchone()[
                "transaction_id"],
        }
        with conn.transaction():  # alice's own hold: she may end it (SPEC §1 hold), and so may a backend
            conn.execute("select tests.act_as('credits_user', 'alice')")
            ids["hold"] = conn.execute("select hold_id from credits.reserve_credits('alice', 'roast')"
                                       ).fetchone()["hold_id"]
        conn.execute("select credits.deduct_credits('alice', 'roast', amount => 1000)")  # a feature_gated event
        # Billing depth, in analysis credits (alice's general credits stay as they were): a priced purchase partly
        # spent (revenue), another expired at once (breakage), an auto top-up and its open request.
        conn.execute("select credits.purchase_credits('alice', 4, 'pay_fixture', 'analysis', price => 4,"
                     " currency => 'EUR')")
        ids["paid"] = conn.execute("select grant_id from credits.purchase_credits('alice', 3, 'pay_fixture_2',"
                                   " 'analysis', price => 3, currency => 'EUR')").fetchone()["grant_id"]
        conn.execute("select credits.set_auto_top_up('alice', 'analysis', 100, 10)")
        conn.execute("select credits.deduct_credits('alice', 'analysis_run')")
        ids["request"] = conn.execute("select substr(request_id, 8)::bigint as n from credits.top_up_requests"
                                      ).fetchone()["n"]
        with conn.transaction():
            conn.execute("select tests.act_as('credits_admin')")
            conn.execute("select credits.set_grant_expiry(%s, credits.now(), 'fixture')",
                         (ids["paid"],))
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
        elif kind == MEMBERSHIP:
            assert [row["member_id"] for row in seen["user_a"]] == ["alice"], view
            assert seen["user_b"] == [], f"bob sees memberships in {view}"
            assert all(seen[role] == seen["service"] != [] for role in ("admin", "auditor")), view
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


# Issue 9: what an attack review found. Each test names its item; each failed before the fix.


def _as(conn: psycopg.Connection[Any], role: str, sub: str | None = None) -> None:
    conn.execute("select tests.act_as(%s, %s)", (role, sub))


def test_issue9_item1_a_user_cannot_end_its_backends_hold(attack: Attack) -> None:
    """The service holds 45 on alice's account: alice may neither capture it for 0.000001 nor release it."""
    conn = attack.conn
    with conn.transaction():
        _as(conn, "credits_service", "backend")
        hold = conn.execute("select hold_id from credits.reserve_credits('alice', 'video', '{\"seconds\": 90}')"
                            ).fetchone()["hold_id"]
    for call in (f"select * from credits.capture_hold({hold}, amount => 0.000001)",
                 f"select * from credits.release_hold({hold})"):
        state, _ = attack.outcome("user_a", call)
        assert state == DENIED, f"alice ran {call}: {state}"
    with conn.transaction():
        _as(conn, "credits_service", "backend")
        captured = conn.execute(f"select ok, charged from credits.capture_hold({hold}, 45)").fetchone()
        assert captured == {"ok": True, "charged": Decimal("45")}
        # The same capture again is the first result (all that was held is 45 too); another amount or
        # other metadata is a conflict, not a silent replay.
        assert conn.execute(f"select ok, charged from credits.capture_hold({hold}, 45)").fetchone() == captured
        assert conn.execute(f"select ok, charged from credits.capture_hold({hold})").fetchone() == captured
        for again in (f"capture_hold({hold}, 30)", f"capture_hold({hold}, 0.000001)",
                      f"capture_hold({hold}, 45, metadata => '{{\"retry\": 2}}')"):
            with pytest.raises(psycopg.Error) as raised:
                with conn.transaction():
                    conn.execute(f"select * from credits.{again}")
            assert raised.value.sqlstate == "PT409", again


def test_issue9_item1_a_user_ends_the_holds_it_made(attack: Attack) -> None:
    """alice's own hold is hers to capture or release; a backend may end it too."""
    conn = attack.conn
    with conn.transaction():
        _as(conn, "credits_user", "alice")
        mine = [conn.execute("select hold_id from credits.reserve_credits('alice', 'roast')").fetchone()["hold_id"]
                for _ in range(3)]
        assert conn.execute(f"select charged from credits.capture_hold({mine[0]})").fetchone()["charged"] == 1
        assert conn.execute(f"select released from credits.release_hold({mine[1]})").fetchone()["released"] == 1
        _as(conn, "credits_service")
        assert conn.execute(f"select released from credits.release_hold({mine[2]})").fetchone()["released"] == 1


def test_issue9_item2_a_hold_does_not_outlive_the_allowance_it_earmarks(attack: Attack) -> None:
    """A 30-day hold on this month's allowance lapses 15 minutes after the period ends; users get at most 1 hour."""
    conn = attack.conn
    with conn.transaction():
        conn.execute("select credits.open_account('pat', 'pro')")  # 100 credits a month, nothing else
        period_end = conn.execute("select period_end from credits.accounts where account_id = 'pat'"
                                  ).fetchone()["period_end"]
        conn.execute("select tests.travel(%s)", (period_end - timedelta(days=1),))
        _as(conn, "credits_service")
        hold = conn.execute("select hold_id, expires_at from credits.reserve_credits('pat', 'roast', amount => 100,"
                            " ttl => '30 days')").fetchone()
        assert hold["expires_at"] == period_end + timedelta(minutes=15)
        # After the period: the allowance it earmarked is gone, and so is the hold.
        conn.execute("select tests.travel(%s)", (period_end + timedelta(minutes=16),))
        captured = conn.execute(f"select ok, reason from credits.capture_hold({hold['hold_id']})").fetchone()
        assert captured == {"ok": False, "reason": "hold_expired"}
        assert conn.execute("select available from credits.get_balance('pat') where credit_type = 'credits'"
                            ).fetchone()["available"] == 100  # the new period's allowance, untouched
    # Purchased credits never expire: a hold on them keeps its ttl.
    with conn.transaction():
        conn.execute("select credits.open_account('quin', 'pro')")
        conn.execute("select credits.purchase_credits('quin', 300, 'pay_quin')")
        _as(conn, "credits_service")
        held = conn.execute("select expires_at - credits.now() as ttl from credits.reserve_credits('quin', 'roast',"
                            " amount => 250, ttl => '30 days')").fetchone()
        assert held["ttl"] == timedelta(days=30)
    # A credits_user may not ask for more than the server's limit (credits.user_max_hold_ttl, 1 hour).
    assert attack.outcome("user_a", "select * from credits.reserve_credits('alice', 'roast', ttl => '1 hour')")[0] == OK
    for ttl in ("61 minutes", "30 days"):
        state, _ = attack.outcome("user_a", f"select * from credits.reserve_credits('alice', 'roast', ttl => '{ttl}')")
        assert state == "PT422", ttl


def test_issue9_item3_a_user_never_sets_its_own_price(attack: Attack) -> None:
    """`amount` is for trusted roles: a credits_user passing it is refused (42501) and nothing changes."""
    before = attack.conn.execute("select count(*) as n from credits_private.ledger_entries").fetchone()
    for call in ("select * from credits.deduct_credits('alice', 'roast', amount => 0.000001)",
                 "select * from credits.deduct_credits('alice', 'roast', amount => 1)",
                 "select * from credits.reserve_credits('alice', 'roast', amount => 0.000001)"):
        assert attack.outcome("user_a", call)[0] == DENIED, call
        assert attack.outcome("service", call)[0] == OK, call
    assert attack.conn.execute("select count(*) as n from credits_private.ledger_entries").fetchone() == before


def test_issue9_item4_a_planted_builtin_reveals_nothing(pg_cluster: Cluster, db: str) -> None:
    """A login holding only credits_user plants pg_has_role, current_setting and operators ahead of pg_catalog.

    With `search_path = evil, pg_catalog` every view still shows alice only her own rows.
    """
    login = f"mallory_{secrets.token_hex(4)}"
    with psycopg.connect(db, autocommit=True) as owner:
        owner.execute("select tests.catalog()")
        owner.execute("select credits.open_account('alice'), credits.open_account('bob', metadata => "
                      "'{\"secret\": \"bob\"}')")
        owner.execute("select credits.deduct_credits('bob', 'roast'), credits.deduct_credits('bob', 'premium')")
        owner.execute(sql.SQL("create role {} login in role credits_user").format(sql.Identifier(login)))
        owner.execute(sql.SQL("grant create on database {} to {}").format(
            sql.Identifier(owner.info.dbname), sql.Identifier(login)))
    try:
        params = conninfo_to_dict(db) | {"user": login}
        with psycopg.connect(**params, autocommit=True, row_factory=dict_row) as mallory:
            mallory.execute("create schema evil")
            mallory.execute("""
                create function evil.pg_has_role(name, text, text) returns boolean language sql as 'select true';
                create function evil.pg_has_role(text, text, text) returns boolean language sql as 'select true';
                create function evil.pg_has_role(text, text) returns boolean language sql as 'select true';
                create function evil.current_setting(text) returns text language sql
                  as $$ select '{"sub": "bob"}' $$;
                create function evil.current_setting(text, boolean) returns text language sql
                  as $$ select '{"sub": "bob"}' $$;
                create function evil.always(text, text) returns boolean language sql as 'select true';
                create operator evil.= (leftarg = text, rightarg = text, function = evil.always);
                create function evil.bob(jsonb, text) returns text language sql as $$ select 'bob' $$;
                create operator evil.->> (leftarg = jsonb, rightarg = text, function = evil.bob);
            """)
            mallory.execute("select set_config('request.jwt.claims', '{\"sub\": \"alice\"}', false)")
            mallory.execute("set search_path = evil, pg_catalog")
            for view, kind in sorted(VIEWS.items()):
                rows = mallory.execute(f"select * from credits.{view}").fetchall()
                if kind == PER_ACCOUNT:
                    assert {row["account_id"] for row in rows} <= {"alice"}, f"{view} shows {rows}"
                elif kind == USAGE:
                    assert rows == [], f"{view} shows bob's usage: {rows}"
            with pytest.raises(errors.InsufficientPrivilege):
                mallory.execute("select * from credits.get_balance('bob')")
    finally:
        with psycopg.connect(db, autocommit=True) as owner:
            owner.execute(sql.SQL("drop schema if exists evil cascade"))
            owner.execute(sql.SQL("revoke create on database {} from {}").format(
                sql.Identifier(owner.info.dbname), sql.Identifier(login)))
            owner.execute(sql.SQL("drop role {}").format(sql.Identifier(login)))


def test_issue9_item4_what_views_and_policies_call_is_bound_at_creation(attack: Attack) -> None:
    """Every function a view or a policy calls either pins search_path or has a body parsed at creation.

    A SQL function with a text body is parsed again at each call with the caller's search_path, so a
    name in it could resolve to the caller's own function or operator; one written with `return` (or
    `begin atomic`) is stored parsed, with every name bound, and is still inlined.
    """
    unbound = attack.conn.execute("""
        with recursive called (fn) as (
          select d.refobjid from pg_depend d
          left join pg_rewrite r on d.classid = 'pg_rewrite'::regclass and r.oid = d.objid
          left join pg_policy y on d.classid = 'pg_policy'::regclass and y.oid = d.objid
          join pg_class t on t.oid = coalesce(r.ev_class, y.polrelid)
          where t.relnamespace in ('credits'::regnamespace, 'credits_private'::regnamespace)
            and d.refclassid = 'pg_proc'::regclass
          union
          select d.refobjid from called c join pg_depend d on d.classid = 'pg_proc'::regclass and d.objid = c.fn
          where d.refclassid = 'pg_proc'::regclass
        )
        select p.oid::regprocedure::text as fn
        from called c join pg_proc p on p.oid = c.fn
        where p.pronamespace not in ('pg_catalog'::regnamespace)
          and p.prosqlbody is null
          and not coalesce(p.proconfig::text[] @> array['search_path=pg_catalog, pg_temp'], false)
        order by 1""").fetchall()
    assert unbound == []
    # They are still inlined: the policy's filter names pg_has_role, not the helper. The one helper left
    # is _reaches_pool (a member reaching its pool inside the functions, docs/decisions.md, "Teams"): it
    # pins search_path instead, and it calls _caller_pool (which reads a table) only where current_user
    # is the owner, which it never is in a view: a member's select through the view never calls it.
    with attack.conn.transaction(force_rollback=True):
        attack.conn.execute("set local track_functions = 'all'")
        attack.act("user_a")
        plan = "\n".join(r["QUERY PLAN"] for r in attack.conn.execute(
            "explain (verbose, costs off) select * from credits.ledger"))
        rows = attack.conn.execute("select * from credits.ledger").fetchall()
        attack.conn.execute("select tests.act_as_superuser()")
        calls = attack.conn.execute("select pg_stat_get_xact_function_calls("
                                    "'credits_private._caller_pool()'::regprocedure) as n").fetchone()["n"]
    assert "pg_has_role" in plan and "_caller_" not in plan and "_reaches_pool(" in plan, plan
    assert rows and calls is None, calls


def test_issue9_item5_the_ledger_is_immutable_in_replica_mode(attack: Attack) -> None:
    """`session_replication_role = replica` skips ordinary triggers: the ledger's are ENABLE ALWAYS."""
    for statement in ("delete from credits_private.ledger_entries",
                      "update credits_private.ledger_entries set amount = 0",
                      "truncate credits_private.ledger_entries cascade"):
        with attack.conn.transaction(force_rollback=True):
            attack.conn.execute("set local session_replication_role = replica")
            with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
                with attack.conn.transaction():
                    attack.conn.execute(statement)
    assert attack.conn.execute("select count(*) as n from credits_private.ledger_entries").fetchone()["n"] > 0


def test_issue9_item6_credits_user_is_granted_only_to_authenticators(attack: Attack) -> None:
    """A login holding credits_user may claim any sub (PostgREST's model): the docs say who may hold it."""
    roles = attack.conn.execute("""
        select r.rolname, r.rolcanlogin from pg_roles r
        where r.rolname in ('credits_owner', 'credits_service', 'credits_admin', 'credits_user',
                            'credits_auditor')""").fetchall()
    assert {r["rolname"]: r["rolcanlogin"] for r in roles} == dict.fromkeys(
        ("credits_owner", "credits_service", "credits_admin", "credits_user", "credits_auditor"), False)
    root = Path(__file__).resolve().parents[1]
    for doc in ("README.md", "docs/security.md"):
        text = " ".join((root / doc).read_text().replace("`", "").split())
        assert "credits_user is granted only to an authenticator" in text, doc
