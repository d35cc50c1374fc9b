"""The product on Citus, through the coordinator (issue 16; docs/scale-out.md).

A coordinator and two workers, distributed by account_id. Every call goes to the coordinator, as an
app, PostgREST or the gateway would send it; what is checked on the workers is checked there directly.
"""

from __future__ import annotations

import json
import select
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from pgcredits.migrate import migrate
from tests.citus.cluster import CitusCluster

PER_ACCOUNT_TABLES = {
    "accounts", "periods", "period_usage", "balances", "grants", "ledger_entries", "events", "holds",
    "subscription_events", "subscriptions", "auto_top_ups", "top_up_requests", "pools", "pool_members",
    "pool_usage",
}  # fmt: skip
REFERENCE_TABLES = {"credit_types", "features", "plans", "plan_features", "event_watchers"}


def one(url: str, query: str, *args: Any) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, args).fetchone()


def rows(url: str, query: str, *args: Any) -> list[Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, args).fetchall()


BALANCE = "select available, held, used_this_period from credits.get_balance(%s) where credit_type = 'credits'"


def available(url: str, account_id: str) -> Decimal:
    """The account's available credits (credit type `credits`)."""
    return one(url, BALANCE, account_id)[0]


def open_account(url: str, account_id: str, plan: str = "free") -> None:
    one(url, "select account_id from credits.open_account(%s, %s)", account_id, plan)


def node_of(citus: CitusCluster, account_id: str) -> tuple[int, Any]:
    """The port of the worker holding the account's shard of ledger_entries, and that shard's name."""
    port, shard = one(
        citus.url(),
        """select s.nodeport, s.shard_name from citus_shards s
           where s.table_name = 'credits_private.ledger_entries'::regclass
             and s.shardid = get_shard_id_for_distribution_column('credits_private.ledger_entries', %s::text)""",
        account_id,
    )
    return port, shard


# The layout -----------------------------------------------------------------------------------------------


def test_per_account_tables_are_distributed_by_account_and_the_catalog_is_replicated(url: str) -> None:
    layout = dict(
        rows(
            url,
            """select c.relname, d.partmethod::text || ':' || coalesce(column_to_column_name(c.oid, d.partkey), '')
                      || ':' || (d.colocationid = (select colocationid from pg_dist_partition
                                                  where logicalrelid = 'credits_private.accounts'::regclass))
               from pg_dist_partition d join pg_class c on c.oid = d.logicalrelid
               where c.relnamespace = 'credits_private'::regnamespace""",
        )
    )
    assert set(layout) == PER_ACCOUNT_TABLES | REFERENCE_TABLES
    assert {t for t, how in layout.items() if how == "h:account_id:true"} == PER_ACCOUNT_TABLES
    assert {t for t, how in layout.items() if how.startswith("n:")} == REFERENCE_TABLES


def test_the_domains_are_on_every_node(citus: CitusCluster, url: str, account: Callable[[str], str]) -> None:
    """Migration 0010's domains reach the workers (Citus propagates CREATE DOMAIN), where the shards' CHECKs
    and the functions read them: a value outside a list is refused on the account's worker."""
    query = """select t.typname, pg_get_constraintdef(c.oid) from pg_type t join pg_constraint c on c.contypid = t.oid
               where t.typnamespace = 'credits_private'::regnamespace and t.typtype = 'd' order by 1"""
    domains = rows(url, query)
    assert {name for name, _ in domains} >= {"ledger_kind", "grant_source", "event_kind", "caller_key"}
    for worker in citus.workers:
        assert rows(worker.url("pgcredits"), query) == domains
    a = account("a")
    open_account(url, a)
    with pytest.raises(psycopg.Error) as err:
        one(url, "select * from credits.grant_credits(%s, 5, 'bonus')", a)
    assert err.value.sqlstate == "PT422" and "bonus" in str(err.value)


def test_every_per_account_function_is_delegated_by_account_id_with_force_delegation(url: str) -> None:
    public = {
        name
        for (name,) in rows(
            url,
            """select p.proname from pg_proc p where p.pronamespace = 'credits'::regnamespace
               and 'account_id' = any (p.proargnames)""",
        )
    }
    delegated = {
        name.removesuffix("__node")
        for (name,) in rows(
            url,
            """select p.proname from pg_dist_object d join pg_proc p on p.oid = d.objid
               where d.classid = 'pg_proc'::regclass and d.force_delegation
                 and p.proargnames[d.distribution_argument_index + 1] = 'account_id'""",
        )
    }
    assert "deduct_credits" in public and "capture_hold" in public and "void_grant" in public
    assert public <= delegated


def test_a_debit_through_the_coordinator_is_written_on_the_accounts_worker(
    citus: CitusCluster, url: str, account: Callable[[str], str]
) -> None:
    a = account("a")
    open_account(url, a)
    (entry_id,) = one(url, "select transaction_id from credits.deduct_credits(%s, 'roast')", a)
    port, shard = node_of(citus, a)
    (worker,) = [w for w in citus.workers if w.port == port]
    (other,) = [w for w in citus.workers if w.port != port]
    assert one(worker.url("pgcredits"), f"select count(*) from {shard} where entry_id = %s", entry_id)
    assert one(other.url("pgcredits"), "select to_regclass(%s)", shard) == (None,)
    # The coordinator stores none of it: its table is an empty shell.
    assert one(url, "select pg_relation_size('credits_private.ledger_entries')") == (0,)


def test_migrating_again_changes_nothing_and_everything_still_works(url: str, account: Callable[[str], str]) -> None:
    assert migrate(url).applied == []  # the citus extension is found: the Citus layout again
    a = account("a")
    open_account(url, a)
    assert one(url, "select ok, charged from credits.deduct_credits(%s, 'roast')", a) == (True, Decimal("1"))


# The public functions -------------------------------------------------------------------------------------


def test_accounts_balances_and_debits(url: str, account: Callable[[str], str]) -> None:
    a = account("a")
    assert one(url, "select opened from credits.open_account(%s)", a) == (True,)
    assert one(url, "select opened from credits.open_account(%s)", a) == (False,)
    assert one(url, "select allowed, cost from credits.check_feature(%s, 'video', '{\"seconds\": 4}')", a) == (
        True, Decimal("2"))  # fmt: skip
    ok = one(url, "select ok, charged, available from credits.deduct_credits(%s, 'video', '{\"seconds\": 4}')", a)
    assert ok == (True, Decimal("2"), Decimal("4"))
    assert one(url, BALANCE, a) == (Decimal("4"), Decimal("0"), Decimal("2"))
    balance_at = "select available from credits.balance_at(%s, credits.now()) where credit_type = 'credits'"
    assert one(url, balance_at, a) == (Decimal("4"),)
    assert rows(url, "select feature, period_remaining from credits.get_quotas(%s) order by 1", a) == [
        ("analysis_run", None), ("chapter", 3), ("roast", None), ("video", None)]  # fmt: skip
    assert one(url, "select ok, reason from credits.deduct_credits(%s, 'video', '{\"seconds\": 20}')", a) == (
        False, "insufficient_credits")  # fmt: skip
    assert one(url, "select reason from credits.gate_events where account_id = %s", a) == ("insufficient_credits",)
    assert [kind for (kind,) in rows(url, "select kind from credits.get_history(%s)", a)] == ["debit", "grant"]
    assert one(url, "select period_start from credits.get_or_create_active_period(%s)", a)[0] is not None


def test_grants_purchases_refunds_and_voids(url: str, account: Callable[[str], str]) -> None:
    a, b = account("a"), account("b")
    open_account(url, a)
    open_account(url, b)
    (promo,) = one(url, "select grant_id from credits.grant_credits(%s, 5, 'promo')", a)
    first = one(url, "select grant_id, available from credits.purchase_credits(%s, 10, %s)", a, f"pay-{a}")
    assert one(url, "select grant_id, available from credits.purchase_credits(%s, 10, %s)", a, f"pay-{a}") == first
    with pytest.raises(psycopg.Error) as err:  # the same payment for another account, on another node or not
        one(url, "select * from credits.purchase_credits(%s, 10, %s)", b, f"pay-{a}")
    assert err.value.sqlstate == "PT409"
    (debit,) = one(url, "select transaction_id from credits.deduct_credits(%s, 'roast', amount => 8)", a)
    with pytest.raises(psycopg.Error) as err:  # keyed by an id: account_id required on Citus
        one(url, "select * from credits.refund_transaction(%s, 'oops')", debit)
    assert err.value.sqlstate == "PT422"
    with pytest.raises(psycopg.Error) as err:  # another account's transaction is not found
        one(url, "select * from credits.refund_transaction(%s, 'oops', account_id => %s)", debit, b)
    assert err.value.sqlstate == "PT404"
    assert one(url, "select available from credits.refund_transaction(%s, 'oops', 3, %s)", debit, a) == (Decimal("16"),)
    # The debit drew the signup grant's 6, then 2 of the promo; the refund gave the promo its 2 back first.
    assert one(url, "select voided from credits.void_grant(%s, 'abuse', %s)", promo, a) == (Decimal("5"),)
    assert available(url, a) == Decimal("11")


def test_an_overdraft_its_repayment_and_its_refund(url: str, account: Callable[[str], str]) -> None:
    """The deduct rewrite and the delegates take a debit into debt, refuse past the limit, repay, refund."""
    a = account("a")
    one(url, "select code from credits.upsert_plan('od_citus', signup_grant => '{\"credits\": 6}',"
             " overdraft => '{\"credits\": 20}')")
    one(url, "select plan from credits.set_plan_feature('od_citus', 'roast')")
    open_account(url, a, "od_citus")
    assert one(url, "select allowed, available from credits.check_feature(%s, 'roast')", a) == (True, Decimal("6"))
    (debit,) = one(url, "select transaction_id from credits.deduct_credits(%s, 'roast', amount => 10)", a)
    assert one(url, "select amount, balance_after, debt, jsonb_array_length(draws) from credits.get_history(%s)"
                    " where transaction_id = %s", a, debit) == (Decimal("-10"), Decimal("-4"), Decimal("4"), 1)
    assert one(url, "select ok, reason, available from credits.deduct_credits(%s, 'roast', amount => 17)", a) == (
        False, "insufficient_credits", Decimal("-4"))  # fmt: skip
    assert one(url, "select available from credits.purchase_credits(%s, 3, %s)", a, f"pay-{a}") == (Decimal("-1"),)
    assert one(url, "select available from credits.refund_transaction(%s, 'oops', 2, %s)", debit, a) == (
        Decimal("1"),)  # fmt: skip  # 1 of the overdraft part repaid the debt, 1 went to a new refund grant
    assert rows(url, "select * from credits.reconciliation where account_id = %s", a) == []
    assert available(url, a) == Decimal("1")


def test_holds(url: str, account: Callable[[str], str]) -> None:
    a = account("a")
    open_account(url, a)
    hold, held = one(url, "select hold_id, held from credits.reserve_credits(%s, 'roast', amount => 4)", a)
    assert held == Decimal("4")
    assert one(url, BALANCE, a)[:2] == (Decimal("2"), Decimal("4"))
    assert one(url, "select ok, charged from credits.capture_hold(%s, 3, account_id => %s)", hold, a) == (
        True, Decimal("3"))  # fmt: skip
    assert one(url, "select ok, charged from credits.capture_hold(%s, 3, account_id => %s)", hold, a) == (
        True, Decimal("3"))  # fmt: skip
    second, _ = one(url, "select hold_id, held from credits.reserve_credits(%s, 'roast')", a)
    assert one(url, "select released from credits.release_hold(%s, %s)", second, a) == (Decimal("1"),)
    assert one(url, "select released from credits.release_hold(%s, %s)", second, a) == (Decimal("0"),)
    assert one(url, "select status from credits.holds where hold_id = %s", second) == ("released",)


def test_status_plans_subscriptions_and_resets(url: str, account: Callable[[str], str]) -> None:
    a, b = account("a"), account("b")
    open_account(url, a)
    one(url, "select * from credits.set_account_status(%s, 'suspended', 'chargeback')", a)
    assert one(url, "select reason from credits.deduct_credits(%s, 'roast')", a) == ("account_inactive",)
    one(url, "select * from credits.set_account_status(%s, 'active', 'resolved')", a)
    assert one(url, "select plan from credits.update_account(%s, plan => 'pro')", a) == ("pro",)
    assert available(url, a) == Decimal("109")  # 6 + 100 + 3 daily
    start = "2026-01-01 00:00+00"
    event = f"evt-{a}"
    assert one(url, "select plan from credits.apply_subscription_event(%s, %s, 'pro', 'active', %s, %s)",
               event, a, start, "2036-01-01 00:00+00") == ("pro",)  # fmt: skip
    assert one(url, "select status from credits.subscriptions where account_id = %s", a) == ("active",)
    open_account(url, b)
    with pytest.raises(psycopg.Error) as err:  # the provider's event id is global
        one(url, "select * from credits.apply_subscription_event(%s, %s, 'pro', 'active', %s, %s)",
            event, b, start, "2036-01-01 00:00+00")  # fmt: skip
    assert err.value.sqlstate == "PT409"
    assert one(url, "select grant_id from credits.grant_subscriber_monthly_credits(%s)", a)[0] is not None
    assert one(url, "select available from credits.reset_credits(%s, 'outage') where credit_type = 'credits'", a)[0] > 0


def test_time_the_sweeps_and_the_daily_job(url: str, account: Callable[[str], str]) -> None:
    a, p = account("a"), account("p")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set credits.now = '2030-03-01 10:00+00'")
        conn.execute("select * from credits.open_account(%s)", (a,))
        conn.execute("select * from credits.open_account(%s, 'pro')", (p,))
        conn.execute("select * from credits.grant_credits(%s, 5, 'promo', expires_at => '2030-03-01 11:00+00')", (a,))
        conn.execute("select * from credits.reserve_credits(%s, 'roast', ttl => '5 minutes')", (a,))
        conn.execute("set credits.now = '2030-03-02 12:00+00'")
        assert conn.execute(BALANCE, (a,)).fetchone()[0] == Decimal("6")
        (expired,) = conn.execute("select grants_expired from credits.expire_grants()").fetchone()
        assert expired >= 1
        assert conn.execute("select kind, amount from credits.ledger where account_id = %s and kind = 'expiry'",
                            (a,)).fetchall() == [("expiry", Decimal("-5"))]  # fmt: skip
        assert conn.execute("select status from credits.holds where account_id = %s", (a,)).fetchone() == ("expired",)
        (granted,) = conn.execute("select accounts_granted from credits.grant_daily_credits()").fetchone()
        assert granted >= 1
        assert conn.execute("select accounts_granted from credits.grant_daily_credits()").fetchone() == (0,)
        assert conn.execute("select count(*) from credits.ledger where account_id = %s and reason like 'daily%%'",
                            (p,)).fetchone() == (1,)  # fmt: skip


# Roles and row-level security -----------------------------------------------------------------------------


def test_a_user_sees_and_spends_only_its_own_account(url: str, as_caller: Any, account: Callable[[str], str]) -> None:
    a, b = account("a"), account("b")
    open_account(url, a)
    open_account(url, b)
    one(url, "select * from credits.deduct_credits(%s, 'roast')", b)
    with as_caller("credits_user", sub=a) as conn:
        assert conn.execute(BALANCE, (a,)).fetchone()[0] == Decimal("6")
        assert conn.execute("select ok from credits.deduct_credits(%s, 'roast')", (a,)).fetchone() == (True,)
        for view in ("accounts", "ledger", "balances", "events", "holds", "subscriptions", "account_usage_daily"):
            seen = {r[0] for r in conn.execute(f"select account_id from credits.{view}").fetchall()}
            assert seen <= {a}, view
        assert {r[0] for r in conn.execute("select account_id from credits.ledger").fetchall()} == {a}
        assert conn.execute("select actor from credits.ledger where kind = 'debit'").fetchone() == (a,)
        assert conn.execute("select count(*) from credits.plans").fetchone()[0] >= 4  # the catalog, for everyone
    for call, args in [
        ("select * from credits.get_balance(%s) where credit_type = 'credits'", (b,)),
        ("select * from credits.deduct_credits(%s, 'roast')", (b,)),
        ("select * from credits.deduct_credits(%s, 'roast', amount => 0.5)", (a,)),
        ("select * from credits.grant_credits(%s, 5, 'promo')", (a,)),
    ]:
        with pytest.raises(psycopg.Error) as err, as_caller("credits_user", sub=a) as conn:
            conn.execute(call, args)
        assert err.value.sqlstate == "42501", call
    with as_caller("credits_auditor") as conn:
        assert {a, b} <= {r[0] for r in conn.execute("select account_id from credits.ledger").fetchall()}


def test_row_level_security_still_guards_the_workers(
    citus: CitusCluster, url: str, account: Callable[[str], str]
) -> None:
    """The second line of defence: on the worker, as the coordinator reaches it (credits_owner), a call
    carrying user a's identity neither reaches b's account nor sees b's rows."""
    a, b = account("a"), account("b")
    open_account(url, a)
    open_account(url, b)
    port, _ = node_of(citus, b)
    worker = next(w for w in citus.workers if w.port == port).url("pgcredits").replace("postgres@", "credits_owner@")
    caller = json.dumps({"role": "credits_user", "claims": json.dumps({"sub": a}), "actor": a})
    with psycopg.connect(worker) as conn:
        with pytest.raises(psycopg.Error) as err:
            conn.execute("select * from credits_private.get_balance__node(%s, %s)", (b, caller))
        assert err.value.sqlstate == "42501"
    with psycopg.connect(worker) as conn:
        conn.execute("select credits_private._citus_take_caller(%s)", (caller,))
        assert conn.execute("select count(*) from credits_private.ledger_entries where account_id = %s",
                            (b,)).fetchone() == (0,)  # fmt: skip
        assert conn.execute("select count(*) from credits_private.accounts where account_id = %s", (b,)).fetchone() == (
            0,)  # fmt: skip


# Idempotency ----------------------------------------------------------------------------------------------


def test_idempotency_keys(url: str, account: Callable[[str], str]) -> None:
    a = account("a")
    open_account(url, a)
    first = one(url, "select * from credits.deduct_credits(%s, 'roast', idempotency_key => 'k1')", a)
    assert one(url, "select * from credits.deduct_credits(%s, 'roast', idempotency_key => 'k1')", a) == first
    with pytest.raises(psycopg.Error) as err:
        one(url, "select * from credits.deduct_credits(%s, 'video', '{\"seconds\": 2}', idempotency_key => 'k1')", a)
    assert err.value.sqlstate == "PT409"
    grant = one(url, "select * from credits.grant_credits(%s, 2, 'promo', idempotency_key => 'g1')", a)
    assert one(url, "select * from credits.grant_credits(%s, 2, 'promo', idempotency_key => 'g1')", a) == grant
    assert available(url, a) == Decimal("7")


# Concurrency and transactions -----------------------------------------------------------------------------


def test_32_concurrent_debits_of_10_credits_exactly_10_succeed(url: str, account: Callable[[str], str]) -> None:
    a = account("a")
    open_account(url, a, plan="ten")
    results: list[tuple[bool, str | None]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(32)

    def debit() -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                start.wait(timeout=60)
                results.append(conn.execute("select ok, reason from credits.deduct_credits(%s, 'roast')",
                                            (a,)).fetchone())  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=debit) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(results, key=str) == sorted([(True, None)] * 10 + [(False, "insufficient_credits")] * 22, key=str)
    assert available(url, a) == Decimal("0")
    assert one(url, "select count(*) from credits.ledger where account_id = %s and kind = 'debit'", a) == (10,)


def test_a_transaction_over_accounts_on_both_workers_commits_or_rolls_back_whole(
    citus: CitusCluster, url: str, account: Callable[[str], str]
) -> None:
    names = [account(f"x{i}") for i in range(20)]
    by_node: dict[int, str] = {}
    for name in names:
        by_node.setdefault(node_of(citus, name)[0], name)
    a, b = by_node.values()  # one account on each worker
    open_account(url, a)
    open_account(url, b)
    one(url, "select * from credits.watch_events('test-2pc', array[%s, %s], '1 hour')", a, b)
    with psycopg.connect(url) as conn:
        conn.execute("select * from credits.deduct_credits(%s, 'roast')", (a,))
        conn.execute("select * from credits.deduct_credits(%s, 'roast')", (b,))
        conn.rollback()
    assert one(url, "select count(*) from credits.ledger where account_id in (%s, %s) and kind = 'debit'", a, b) == (0,)
    with psycopg.connect(url) as conn:
        conn.execute("select * from credits.deduct_credits(%s, 'roast')", (a,))
        conn.execute("select * from credits.deduct_credits(%s, 'roast')", (b,))
        conn.commit()  # two workers, with events to notify: a two-phase commit that must not fail
    assert one(url, "select count(*) from credits.ledger where account_id in (%s, %s) and kind = 'debit'", a, b) == (2,)
    one(url, "select * from credits.unwatch_events('test-2pc')")


# Events ---------------------------------------------------------------------------------------------------


def test_events_reach_a_listener_on_the_coordinator(
    citus: CitusCluster, url: str, account: Callable[[str], str]
) -> None:
    a = account("a")
    open_account(url, a)
    one(url, "select * from credits.watch_events('test-listener', array[%s], '1 hour')", a)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute("listen credits_events")
        one(url, "select * from credits.deduct_credits(%s, 'roast', amount => 5)", a)  # 6 -> 1: 80 and 90 %
        received: list[dict[str, Any]] = []
        deadline = 50
        while len(received) < 3 and deadline:
            select.select([listener.fileno()], [], [], 0.1)
            received += [json.loads(n.payload) for n in listener.notifies(timeout=0.1, stop_after=10)]
            deadline -= 1
    kinds = [n["kind"] for n in received if n["account_id"] == a]
    assert kinds[:1] == ["balance_changed"] and "threshold_crossed" in kinds
    seq = next(n["seq"] for n in received if n["account_id"] == a)
    assert one(url, "select kind from credits.events where event_id = %s", seq) == ("balance_changed",)
    one(url, "select * from credits.unwatch_events('test-listener')")


def test_an_unwatched_account_gets_its_crossings_and_no_balance_changed(
    url: str, account: Callable[[str], str]
) -> None:
    """The row trigger's early return for a quiet move (docs/decisions.md, "Events: who pays"): nothing below 80 %."""
    a = account("a")
    open_account(url, a)  # 6 signup credits, nobody watching

    def kinds() -> list[str]:
        return [r[0] for r in rows(url, "select kind from credits.events where account_id = %s order by event_id", a)]

    one(url, "select * from credits.deduct_credits(%s, 'roast', amount => 4)", a)  # 4 of 6: a quiet move
    assert kinds() == []
    one(url, "select * from credits.deduct_credits(%s, 'roast', amount => 1)", a)  # 5 of 6: 83 %
    assert kinds() == ["threshold_crossed"]
    one(url, "select * from credits.deduct_credits(%s, 'roast', amount => 1)", a)  # 6 of 6: 90, 100, depleted
    assert kinds() == ["threshold_crossed"] * 3 + ["depleted"]


# Ordering across nodes ------------------------------------------------------------------------------------


def test_history_stays_newest_first_after_the_accounts_shard_moves(
    citus: CitusCluster, url: str, account: Callable[[str], str]
) -> None:
    groups = dict(rows(url, "select nodeport, groupid from pg_dist_node where noderole = 'primary'"))
    # An account on the worker with the higher ids (group 2), to move to the lower one (group 1).
    a = next(name for name in (account(f"m{i}") for i in range(40))
             if groups[node_of(citus, name)[0]] == max(groups.values()))  # fmt: skip
    open_account(url, a)
    (before,) = one(url, "select transaction_id from credits.deduct_credits(%s, 'roast')", a)
    source = node_of(citus, a)[0]
    target = next(port for port, group in groups.items() if group == min(g for g in groups.values() if g > 0))
    one(url,
        """select citus_move_shard_placement(
             get_shard_id_for_distribution_column('credits_private.accounts', %s::text),
             '127.0.0.1', %s, '127.0.0.1', %s, shard_transfer_mode => 'block_writes')""",
        a, source, target)  # fmt: skip
    assert node_of(citus, a)[0] == target
    (after,) = one(url, "select transaction_id from credits.deduct_credits(%s, 'roast')", a)
    assert after < before  # ids from the new node's range: ids alone no longer follow the history
    history = [r[0] for r in rows(url, "select transaction_id from credits.get_history(%s)", a)]
    assert history[:2] == [after, before]
    assert [r[0] for r in rows(url, "select transaction_id from credits.get_history(%s, 1, %s)", a, after)] == [before]


# Reconciliation -------------------------------------------------------------------------------------------


def test_reconciliation_finds_a_drifted_balance_on_a_worker(
    citus: CitusCluster, url: str, account: Callable[[str], str]
) -> None:
    a = account("a")
    open_account(url, a)
    port, _ = node_of(citus, a)
    (shard,) = one(url, """select shard_name from citus_shards where table_name = 'credits_private.balances'::regclass
                           and shardid = get_shard_id_for_distribution_column('credits_private.balances',
                                                                              %s::text)""", a)
    worker = next(w for w in citus.workers if w.port == port).url("pgcredits")
    with psycopg.connect(worker, autocommit=True) as conn:
        conn.execute(f"update {shard} set balance = balance + 1 where account_id = %s", (a,))
    try:
        assert rows(url, "select account_id, materialized_balance, ledger_sum from credits.reconciliation") == [
            (a, Decimal("7"), Decimal("6"))]  # fmt: skip
    finally:
        with psycopg.connect(worker, autocommit=True) as conn:
            conn.execute(f"update {shard} set balance = balance - 1 where account_id = %s", (a,))


def test_the_gateway_rereads_a_notified_event_on_the_coordinator(url: str, account: Callable[[str], str]) -> None:
    """What the gateway's /events does with a notification (python/pgcredits/gateway/app.py), through the
    coordinator and with the gateway's own statements: it watches as a backend, then re-reads the event
    and the account's watermark in a read-only transaction as the account's own user."""
    import asyncio

    import asyncpg

    from pgcredits.gateway.app import EVENTS_WATERMARK, REREAD_EVENT, SET_CALLER, WATCH_EVENTS, _owner

    a = account("a")
    open_account(url, a)

    async def run() -> tuple[Any, Any, Any]:
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                await conn.execute(SET_CALLER, "credits_service", "{}", "5s")
                await conn.fetchval(WATCH_EVENTS, "test-gateway", [a], "1 hour")
            one(url, "select * from credits.deduct_credits(%s, 'roast', amount => 5)", a)  # 6 -> 1
            (seq,) = one(url, "select max(event_id) from credits.events where account_id = %s and kind = %s",
                         a, "balance_changed")  # written for a watched account only
            identity = _owner(a)
            async with conn.transaction(readonly=True):
                await conn.execute(SET_CALLER, identity.role, identity.claims_json, "5s")
                row = await conn.fetchrow(REREAD_EVENT, a, str(seq))
                watermark = await conn.fetchval(EVENTS_WATERMARK, a)
            async with conn.transaction(readonly=True):
                await conn.execute(SET_CALLER, "credits_user", json.dumps({"sub": "someone-else"}), "5s")
                other = await conn.fetchrow(REREAD_EVENT, a, str(seq))
            return row, watermark, other
        finally:
            await conn.close()

    row, watermark, other = asyncio.run(run())
    assert row is not None and row[0] == "balance_changed" and json.loads(row[1])["account_id"] == a
    assert watermark >= json.loads(row[1])["event_id"]
    assert other is None  # another user's token reads none of a's events
    one(url, "select * from credits.unwatch_events('test-gateway')")
