"""The Python clients (pgcredits.Credits, psycopg; pgcredits.AsyncCredits, asyncpg) against a real database.

Every test that takes `credits` runs four times: sync and async client, each
connected directly and through PgBouncer in transaction mode (conftest's
`pgbouncer`). The async client is driven through `Blocking`, which runs each
coroutine to completion on the test's own event loop, so one test body serves
both. The tests of the call table itself (names, parameters, result columns)
compare it with the database's catalog.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg
import psycopg
import pytest

from pgcredits import (
    AsyncCredits,
    Credits,
    CreditsError,
    IdempotencyConflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from pgcredits.client import _SQL_TYPES, Rpc, _Functions
from pgcredits.models import Balance, BalanceAt, Charge, LedgerEntry

MICRO = Decimal("0.000001")
CALLS: dict[str, Rpc[..., Any]] = {name: value for name, value in vars(_Functions).items() if isinstance(value, Rpc)}


class Blocking:
    """A Credits or an AsyncCredits seen through blocking calls: an async method runs on the test's event loop."""

    def __init__(self, client: Credits | AsyncCredits, runner: asyncio.Runner | None) -> None:
        self.client = client
        self.runner = runner

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if self.runner is None or name not in CALLS:
            return method
        runner = self.runner
        return lambda *args, **kwargs: runner.run(method(*args, **kwargs))

    @contextmanager
    def transaction(self) -> Iterator[Blocking]:
        """The client's transaction helper (`with` or `async with`), yielding the bound client seen as Blocking."""
        if self.runner is None:
            assert isinstance(self.client, Credits)
            with self.client.transaction() as tx:
                yield Blocking(tx, None)
            return
        assert isinstance(self.client, AsyncCredits)
        manager = self.client.transaction()
        tx = self.runner.run(manager.__aenter__())
        try:
            yield Blocking(tx, self.runner)
        except BaseException as error:
            if not self.runner.run(manager.__aexit__(type(error), error, error.__traceback__)):
                raise
        else:
            self.runner.run(manager.__aexit__(None, None, None))

    def sql(self, query: str, *values: Any) -> list[tuple[Any, ...]]:
        """The app's own statement ($n placeholders) on the connection of a client bound to a transaction."""
        connection = self.client.connection
        if self.runner is None:
            with psycopg.RawCursor(connection) as cursor:
                cursor.execute(query, values)
                return cursor.fetchall() if cursor.description else []
        return [tuple(row) for row in self.runner.run(connection.fetch(query, *values))]


@pytest.fixture(params=["direct", "pgbouncer"])
def url(request: pytest.FixtureRequest, db: str) -> str:
    """The test database's URL, direct or through PgBouncer in transaction mode."""
    return db if request.param == "direct" else str(request.getfixturevalue("pgbouncer"))


@pytest.fixture
def catalog(connect: Callable[..., psycopg.Connection[Any]]) -> None:
    """db/tests/helpers.sql's small catalog: free (6 signup credits), pro (100 a month), team (unlimited)."""
    connect(autocommit=True).execute("select tests.catalog()")


@pytest.fixture(params=["sync", "async"])
def make_credits(request: pytest.FixtureRequest, url: str, catalog: None) -> Iterator[Callable[..., Blocking]]:
    """A factory of clients of one kind (keyword arguments go to the constructor), closed after the test."""
    runner = asyncio.Runner() if request.param == "async" else None
    made: list[Credits | AsyncCredits] = []

    def factory(**options: Any) -> Blocking:
        made.append(Credits(url, **options) if runner is None else AsyncCredits(url, **options))
        return Blocking(made[-1], runner)

    try:
        yield factory
    finally:
        for client in made:
            if isinstance(client, AsyncCredits):
                assert runner is not None
                runner.run(client.close())
            else:
                client.close()
        if runner is not None:
            runner.close()


@pytest.fixture
def credits(make_credits: Callable[..., Blocking]) -> Blocking:
    """A client as the superuser (the role every function is granted to), with the test catalog."""
    return make_credits()


def test_catalog_functions(credits: Blocking) -> None:
    credit_type = credits.upsert_credit_type("minutes", description="Minutes of audio")
    assert (credit_type.code, credit_type.description) == ("minutes", "Minutes of audio")
    feature = credits.upsert_feature("transcribe", credit_type="minutes", base_cost=Decimal("0.5"),
                                     unit_rates={"seconds": Decimal("0.016667")})
    assert feature.base_cost == Decimal("0.500000")
    assert feature.unit_rates == {"seconds": Decimal("0.016667")}
    assert isinstance(feature.unit_rates["seconds"], Decimal)
    assert feature.description is None  # the SQL default applies
    plan = credits.upsert_plan("studio", signup_grant={"minutes": 30}, monthly_allowance={"credits": Decimal("250.5")})
    assert plan.signup_grant == {"minutes": Decimal(30)}
    assert plan.monthly_allowance == {"credits": Decimal("250.5")}
    assert (plan.daily_allowance, plan.unlimited) == ({}, False)
    plan_feature = credits.set_plan_feature("studio", "transcribe", period_limit=20, cost_override=Decimal("0.25"))
    assert (plan_feature.enabled, plan_feature.period_limit, plan_feature.cost_override) == (True, 20, Decimal("0.25"))

    account = credits.open_account("u_studio", plan="studio")
    assert [(b.credit_type, b.available) for b in credits.get_balance("u_studio")] == [
        ("analysis", 0), ("credits", Decimal("250.5")), ("minutes", 30)
    ]
    assert account.plan == "studio"


def test_open_account_balance_and_period(credits: Blocking) -> None:
    account = credits.open_account("u_1", timezone="Europe/Paris", metadata={"email": "u1@example.com"})
    assert (account.account_id, account.plan, account.status, account.timezone) == ("u_1", "free", "active",
                                                                                      "Europe/Paris")
    assert account.metadata == {"email": "u1@example.com"}
    again = credits.open_account("u_1", plan="pro")  # opening again changes nothing, and says what differs
    assert again.model_copy(update={"opened": True, "differences": []}) == account
    assert (account.opened, again.opened, again.differences) == (True, False, ["plan"])

    balances = credits.get_balance("u_1")
    assert all(isinstance(row, Balance) for row in balances)
    by_type = {row.credit_type: row for row in balances}
    assert by_type["credits"].available == Decimal("6.000000")
    assert by_type["credits"].buckets == {"signup": Decimal(6)}
    assert by_type["credits"].period_end == account.period_end

    period = credits.get_or_create_active_period("u_1")
    assert (period.period_start, period.period_end) == (account.period_start, account.period_end)

    credits.deduct_credits("u_1", "roast")
    before = credits.balance_at("u_1", account.created_at - timedelta(seconds=1))
    assert before == [BalanceAt(credit_type="analysis", available=Decimal(0)),
                      BalanceAt(credit_type="credits", available=Decimal(0))]
    opened = credits.balance_at("u_1", account.created_at)
    assert [(row.credit_type, row.available) for row in opened] == [("analysis", 0), ("credits", 6)]


def test_spend_check_and_history(credits: Blocking) -> None:
    credits.open_account("u_2")
    check = credits.check_feature("u_2", "chat", units={"input_tokens": 1200, "output_tokens": 300})
    assert (check.allowed, check.reason, check.cost, check.available) == (True, None, Decimal("1.05"), Decimal(6))
    assert [draw["amount"] for draw in check.draws or []] == [Decimal("1.05")]

    first = credits.deduct_credits("u_2", "chat", units={"input_tokens": 1200, "output_tokens": 300},
                                   idempotency_key="chat-1", metadata={"request": "r1"})
    assert isinstance(first, Charge)
    assert (first.ok, first.charged, first.available, first.credit_type) == (True, Decimal("1.05"),
                                                                              Decimal("4.95"), "credits")
    assert credits.deduct_credits("u_2", "chat", units={"input_tokens": 1200, "output_tokens": 300},
                                  idempotency_key="chat-1", metadata={"request": "r1"}) == first  # a retry
    refused = credits.deduct_credits("u_2", "premium")
    assert (refused.ok, refused.reason, refused.transaction_id) == (False, "feature_not_in_plan", None)

    second = credits.deduct_credits("u_2", "video", units={"seconds": 4})
    history = credits.get_history("u_2")
    assert all(isinstance(row, LedgerEntry) for row in history)
    assert [(row.kind, row.amount) for row in history] == [("debit", Decimal(-2)), ("debit", Decimal("-1.05")),
                                                           ("grant", Decimal(6))]
    assert history[1].units == {"input_tokens": 1200, "output_tokens": 300}
    assert history[1].metadata == {"request": "r1"}
    assert history[1].idempotency_key == "chat-1"
    page = credits.get_history("u_2", page_size=1, before_id=second.transaction_id)
    assert [row.transaction_id for row in page] == [first.transaction_id]


def test_amounts_are_exact_decimals(credits: Blocking) -> None:
    credits.open_account("u_micro")
    granted = credits.grant_credits("u_micro", MICRO, source="promo")
    assert granted.available == Decimal("6.000001") and isinstance(granted.available, Decimal)
    charged = credits.deduct_credits("u_micro", "roast", amount=Decimal("5.999999"))
    assert (charged.charged, charged.available) == (Decimal("5.999999"), Decimal("0.000002"))
    credits.upsert_feature("tick", base_cost=MICRO)
    credits.set_plan_feature("free", "tick")
    tick = credits.deduct_credits("u_micro", "tick")
    assert (tick.charged, tick.available) == (MICRO, MICRO)
    assert credits.get_history("u_micro", page_size=1)[0].amount == -MICRO
    (balance,) = [row for row in credits.get_balance("u_micro") if row.credit_type == "credits"]
    assert balance.available == MICRO
    assert sum(balance.buckets.values()) == MICRO
    assert all(isinstance(value, Decimal) for value in balance.buckets.values())
    with pytest.raises(TypeError, match="not the float"):
        credits.grant_credits("u_micro", 0.1, source="promo")


def test_holds(credits: Blocking) -> None:
    credits.open_account("u_hold")
    credits.purchase_credits("u_hold", Decimal(100), "pay-hold")
    hold = credits.reserve_credits("u_hold", "video", units={"seconds": 120}, ttl=timedelta(minutes=5))
    assert (hold.ok, hold.held) == (True, Decimal(60))
    assert hold.hold_id is not None
    (balance,) = [row for row in credits.get_balance("u_hold") if row.credit_type == "credits"]
    assert (balance.available, balance.held) == (Decimal(46), Decimal(60))
    captured = credits.capture_hold(hold.hold_id, amount=Decimal(45), metadata={"job": "render-1"})
    assert (captured.ok, captured.charged, captured.available) == (True, Decimal(45), Decimal(61))
    assert credits.capture_hold(hold.hold_id, amount=Decimal(45), metadata={"job": "render-1"}) == captured

    other = credits.reserve_credits("u_hold", "roast")
    assert other.hold_id is not None
    assert credits.release_hold(other.hold_id).released == Decimal(1)
    assert credits.release_hold(other.hold_id).released == Decimal(0)

    lapsing = credits.reserve_credits("u_hold", "roast", ttl=timedelta(microseconds=1))
    assert lapsing.ok
    assert credits.expire_holds().holds_released == 1
    assert credits.expire_holds().holds_released == 0


def test_grants_and_corrections(credits: Blocking) -> None:
    credits.open_account("u_fix")
    granted = credits.grant_credits("u_fix", Decimal(10), reason="goodwill", idempotency_key="gift-1")
    assert granted.available == Decimal(16)
    assert credits.grant_credits("u_fix", Decimal(10), reason="goodwill", idempotency_key="gift-1") == granted
    bought = credits.purchase_credits("u_fix", Decimal("20.5"), "stripe:pi_1")
    assert bought.available == Decimal("36.5")
    assert credits.purchase_credits("u_fix", Decimal("20.5"), "stripe:pi_1") == bought  # webhook retry

    assert credits.void_grant(granted.grant_id, "sent by mistake").voided == Decimal(10)
    assert credits.void_grant(granted.grant_id, "sent by mistake").voided == 0

    debit = credits.deduct_credits("u_fix", "roast", amount=Decimal(8))
    assert (debit.available, debit.transaction_id is not None) == (Decimal("18.5"), True)
    refund = credits.refund_transaction(debit.transaction_id, "render failed", amount=Decimal(3))
    assert refund.available == Decimal("21.5")
    assert credits.get_history("u_fix", page_size=1)[0].refund_of == debit.transaction_id

    credits.open_account("u_pro", plan="pro")
    assert credits.deduct_credits("u_pro", "roast", amount=Decimal(30)).available == Decimal(70)
    reset = credits.reset_credits("u_pro", "support ticket 7")
    assert isinstance(reset, list)
    (row,) = [row for row in reset if row.credit_type == "credits"]
    assert (row.available, row.buckets) == (Decimal(100), {"monthly": Decimal(100)})


def test_account_status(credits: Blocking) -> None:
    credits.open_account("u_status")
    account = credits.set_account_status("u_status", "suspended", "chargeback")
    assert (account.status, account.status_reason) == ("suspended", "chargeback")
    refused = credits.deduct_credits("u_status", "roast")
    assert (refused.ok, refused.reason) == (False, "account_inactive")
    assert credits.set_account_status("u_status", "active", "resolved").status == "active"
    assert credits.deduct_credits("u_status", "roast").ok


def test_subscriptions(credits: Blocking) -> None:
    opened = credits.open_account("u_sub")
    start, end = opened.period_start, opened.period_start + timedelta(days=30)
    account = credits.apply_subscription_event("evt_1", "u_sub", "pro", "active", start, end)
    assert (account.plan, account.period_start, account.period_end) == ("pro", start, end)
    monthly = credits.grant_subscriber_monthly_credits("u_sub")
    assert credits.grant_subscriber_monthly_credits("u_sub") == monthly  # once per period
    by_type = {row.credit_type: row for row in credits.get_balance("u_sub")}
    assert by_type["credits"].buckets == {"signup": Decimal(6), "monthly": Decimal(100)}


def test_scheduled_work(credits: Blocking) -> None:
    credits.upsert_plan("drip", daily_allowance={"credits": 2})
    opened = credits.open_account("u_drip", plan="drip")
    assert credits.grant_daily_credits(day=opened.created_at.date()).accounts_granted == 1
    assert credits.grant_daily_credits().accounts_granted == 0  # today's is granted
    assert credits.get_balance("u_drip")[1].buckets == {"daily": Decimal(2)}

    credits.grant_credits("u_drip", Decimal(5), source="promo", expires_at=opened.created_at + timedelta(days=3))
    assert credits.expire_grants().grants_expired == 0
    with credits.transaction() as tx:  # a week later (the test database allows credits.now)
        tx.sql("select set_config('credits.now', $1, true)", str(opened.created_at + timedelta(days=7)))
        assert tx.expire_grants().grants_expired >= 1
        assert [row for row in tx.get_history("u_drip") if row.kind == "expiry"]

    assert credits.schedule_jobs() == []  # pg_cron is not in this database: a notice, no job


def test_unknown_account_is_not_found(credits: Blocking) -> None:
    with pytest.raises(NotFound, match="nobody") as raised:
        credits.get_balance("nobody")
    assert (raised.value.code, raised.value.http_status) == ("PT404", 404)
    assert raised.value.hint
    with pytest.raises(NotFound):
        credits.capture_hold(424242)


def test_idempotency_key_reused_is_a_conflict(credits: Blocking) -> None:
    credits.open_account("u_idem")
    credits.deduct_credits("u_idem", "roast", idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict) as raised:
        credits.deduct_credits("u_idem", "chapter", idempotency_key="k-1")
    assert raised.value.code == "PT409"


@pytest.mark.parametrize("amount", [Decimal(0), Decimal(-1)])
def test_amount_not_positive_is_invalid(credits: Blocking, amount: Decimal) -> None:
    credits.open_account("u_bad")
    with pytest.raises(InvalidArgument) as raised:
        credits.grant_credits("u_bad", amount, source="promo")
    assert raised.value.code == "PT422"
    with pytest.raises(InvalidArgument):
        credits.purchase_credits("u_bad", amount, "pay-bad")


def test_user_acts_on_own_account_only(make_credits: Callable[..., Blocking]) -> None:
    service = make_credits(role="credits_service")
    service.open_account("alice")
    service.open_account("bob")
    alice = make_credits(role="credits_user", claims={"sub": "alice", "role": "credits_user"})
    assert alice.deduct_credits("alice", "roast").available == Decimal(5)
    assert [row.kind for row in alice.get_history("alice")] == ["debit", "grant"]
    with pytest.raises(PermissionDenied) as raised:
        alice.get_balance("bob")
    assert (raised.value.code, raised.value.http_status) == ("42501", 403)
    with pytest.raises(PermissionDenied):
        alice.deduct_credits("bob", "roast")
    with pytest.raises(PermissionDenied):  # a user may not grant, even to itself
        alice.grant_credits("alice", Decimal(100), source="promo")
    with alice.transaction() as tx:  # the identity holds for the whole transaction
        assert tx.sql("select current_user, current_setting('request.jwt.claims')::jsonb ->> 'sub'") == [
            ("credits_user", "alice")
        ]
        assert tx.check_feature("alice", "roast").allowed
    # and no longer after it, whichever server connection PgBouncer gives next: it was transaction-local
    for _ in range(4):
        with make_credits().transaction() as tx:
            assert tx.sql("select current_user, coalesce(current_setting('request.jwt.claims', true), '')") == [
                ("postgres", "")
            ]
    assert service.get_history("alice")[0].actor == "alice"


def test_permission_denied_names_the_roles_that_may_call(make_credits: Callable[..., Blocking]) -> None:
    """PostgreSQL's own 42501 has no hint: the client fills it as the gateway does, in a transaction too."""
    make_credits(role="credits_service").open_account("alice")
    alice = make_credits(role="credits_user", claims={"sub": "alice", "role": "credits_user"})
    with pytest.raises(PermissionDenied) as raised:
        alice.grant_credits("alice", Decimal(100), source="promo")
    assert raised.value.message == "permission denied for function grant_credits"
    assert raised.value.hint == "may be called by: credits_admin, credits_service"
    with pytest.raises(PermissionDenied) as raised, alice.transaction() as tx:
        tx.reset_credits("alice", "because")
    assert raised.value.hint == "may be called by: credits_admin"
    with pytest.raises(PermissionDenied) as raised:  # the database's own hint is kept
        alice.get_balance("bob")
    assert raised.value.hint == "A credits_user may act only on the account named by its JWT sub claim."


def test_now_is_the_ledgers_clock(credits: Blocking) -> None:
    with credits.transaction() as tx:
        tx.sql("select set_config('credits.now', '2027-01-05 09:00+00', true)")
        assert tx.now() == datetime(2027, 1, 5, 9, tzinfo=timezone.utc)
    assert isinstance(credits.now(), datetime) and credits.now().tzinfo is not None


def test_open_account_says_what_differs_and_update_account_changes_it(credits: Blocking) -> None:
    opened = credits.open_account("u_9")
    assert (opened.opened, opened.differences, opened.plan) == (True, [], "free")
    again = credits.open_account("u_9", plan="pro", is_demo=True)
    assert (again.opened, again.differences, again.plan, again.is_demo) == (False, ["plan", "is_demo"], "free", False)
    upgraded = credits.update_account("u_9", plan="pro", is_demo=True)
    assert (upgraded.plan, upgraded.is_demo) == ("pro", True)
    assert credits.open_account("u_9", plan="pro", is_demo=True).differences == []
    quotas = {quota.feature: quota for quota in credits.get_quotas("u_9")}
    assert set(quotas) == {"analysis_run", "chapter", "chat", "premium", "roast", "video"}
    assert (quotas["premium"].cost, quotas["premium"].allowed) == (Decimal(0), True)  # a demo account pays nothing


def test_open_account_notice_names_the_differences(db: str, catalog: None) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        notices: list[str] = []
        conn.add_notice_handler(lambda diag: notices.append(f"{diag.message_primary} / {diag.message_hint}"))
        Credits(connection=conn).open_account("u_8", timezone="Europe/Paris")
        assert notices == []
        Credits(connection=conn).open_account("u_8", plan="pro", timezone="UTC")
        Credits(connection=conn).open_account("u_8", plan="team", timezone="Asia/Tokyo")
    assert notices == [
        "account u_8 exists and was left as it is: plan is free, not pro / Change plan or is_demo with "
        "credits.update_account; open_account never changes an account.",
        "account u_8 exists and was left as it is: plan is free, not team; timezone is Europe/Paris, not Asia/Tokyo"
        " / Change plan or is_demo with credits.update_account; open_account never changes an account.",
    ]


def test_transaction_commits_debit_with_app_write(credits: Blocking, connect: Callable[..., Any]) -> None:
    app = connect(autocommit=True)
    app.execute("create table orders (order_id text primary key, account_id text not null)")
    credits.open_account("u_tx")
    with credits.transaction() as tx:
        charge = tx.deduct_credits("u_tx", "roast", amount=Decimal(2))
        tx.sql("insert into orders values ($1, $2)", "o-1", "u_tx")
    assert charge.ok
    assert app.execute("select order_id from orders").fetchall() == [("o-1",)]
    assert [row.transaction_id for row in credits.get_history("u_tx", page_size=1)] == [charge.transaction_id]
    assert credits.get_balance("u_tx")[1].available == Decimal(4)


def test_transaction_rolls_back_debit_with_app_write(credits: Blocking, connect: Callable[..., Any]) -> None:
    app = connect(autocommit=True)
    app.execute("create table orders (order_id text primary key, account_id text not null)")
    credits.open_account("u_tx")
    with pytest.raises(RuntimeError, match="payment provider down"), credits.transaction() as tx:
        assert tx.deduct_credits("u_tx", "roast", amount=Decimal(2)).ok
        tx.sql("insert into orders values ($1, $2)", "o-1", "u_tx")
        raise RuntimeError("payment provider down")
    assert app.execute("select count(*) from orders").fetchone() == (0,)
    assert [row.kind for row in credits.get_history("u_tx")] == ["grant"]
    assert credits.get_balance("u_tx")[1].available == Decimal(6)


def test_error_in_transaction_rolls_back_earlier_calls(credits: Blocking) -> None:
    credits.open_account("u_tx")
    with pytest.raises(NotFound), credits.transaction() as tx:
        tx.deduct_credits("u_tx", "roast")
        tx.deduct_credits("u_nobody", "roast")
    assert [row.kind for row in credits.get_history("u_tx")] == ["grant"]


@pytest.mark.parametrize(("kind", "prepared_on_request"),
                         [("sync", {"prepare_threshold": 0}), ("async", {"statement_cache_size": 100})])
def test_no_server_side_prepared_statements_by_default(db: str, catalog: None, kind: str,
                                                       prepared_on_request: dict[str, int]) -> None:
    """What PgBouncer in transaction mode needs, seen directly (pg_prepared_statements is per server connection).

    The control, with the driver's statement cache turned back on, shows that the check can fail.
    """
    runner = asyncio.Runner() if kind == "async" else None
    try:
        for options, expect_prepared in (({}, False), (prepared_on_request, True)):
            client = Credits(db, **options) if runner is None else AsyncCredits(db, **options)
            credits = Blocking(client, runner)
            credits.open_account("u_prep")
            for _ in range(10):
                credits.get_balance("u_prep")
            with credits.transaction() as tx:
                (count,) = tx.sql("select count(*) from pg_prepared_statements")[0]
            if runner is None:
                credits.close()
            else:
                runner.run(credits.close())
            assert (count > 0) is expect_prepared, options
    finally:
        if runner is not None:
            runner.close()


def test_caller_psycopg_connection_owns_the_transaction(db: str, catalog: None,
                                                       connect: Callable[..., psycopg.Connection[Any]]) -> None:
    conn = connect()  # not autocommit: psycopg begins a transaction, the caller commits or rolls back
    conn.execute("create table orders (order_id text primary key)")
    conn.commit()
    credits = Credits(connection=conn)
    credits.open_account("u_conn")
    conn.commit()
    assert credits.deduct_credits("u_conn", "roast").ok
    conn.execute("insert into orders values ('o-1')")
    conn.rollback()
    assert [row.kind for row in credits.get_history("u_conn")] == ["grant"]
    assert credits.deduct_credits("u_conn", "roast").ok
    conn.execute("insert into orders values ('o-2')")
    conn.commit()
    with Credits(db) as other:
        assert [row.kind for row in other.get_history("u_conn")] == ["debit", "grant"]
    assert conn.execute("select order_id from orders").fetchall() == [("o-2",)]
    credits.close()
    assert not conn.closed  # the caller's connection stays the caller's


def test_caller_asyncpg_connection_owns_the_transaction(url: str, catalog: None) -> None:
    async def scenario() -> None:
        conn = await asyncpg.connect(url, statement_cache_size=0)
        try:
            await conn.execute("create table orders (order_id text primary key)")
            credits = AsyncCredits(connection=conn)
            await credits.open_account("u_conn")
            with pytest.raises(RuntimeError):
                async with conn.transaction():
                    assert (await credits.deduct_credits("u_conn", "roast")).ok
                    await conn.execute("insert into orders values ('o-1')")
                    raise RuntimeError("rolled back")
            async with conn.transaction():
                assert (await credits.deduct_credits("u_conn", "roast")).ok
                await conn.execute("insert into orders values ('o-2')")
            assert [row.kind for row in await credits.get_history("u_conn")] == ["debit", "grant"]
            assert await conn.fetch("select order_id from orders") == [("o-2",)]
            await credits.close()
            assert not conn.is_closed()
        finally:
            await conn.close()

    asyncio.run(scenario())


def test_async_calls_run_concurrently_on_the_pool(url: str, catalog: None) -> None:
    async def scenario() -> list[Charge]:
        async with AsyncCredits(url, max_size=4) as credits:
            await credits.open_account("u_many")
            await credits.purchase_credits("u_many", Decimal(10), "pay-many")
            charges = await asyncio.gather(*(credits.deduct_credits("u_many", "roast", idempotency_key=f"k{n}")
                                             for n in range(8)))
            (row,) = [row for row in await credits.get_balance("u_many") if row.credit_type == "credits"]
            assert row.available == Decimal(8)
            return charges

    charges = asyncio.run(scenario())
    assert all(charge.ok for charge in charges)
    assert len({charge.transaction_id for charge in charges}) == 8


def test_client_takes_a_conninfo_or_a_connection(db: str) -> None:
    with pytest.raises(TypeError, match="either a conninfo or connection="):
        Credits()
    with pytest.raises(TypeError, match="need a conninfo"), psycopg.connect(db) as conn:
        Credits(connection=conn, prepare_threshold=5)
    with pytest.raises(TypeError, match="missing a required argument: 'reason'"):
        Credits(db).set_account_status("u", "closed")  # type: ignore[call-arg]


def test_one_row_function_without_a_row_is_an_error() -> None:
    call = CALLS["release_hold"]
    with pytest.raises(CreditsError, match=r"credits\.release_hold returned 0 rows"):
        call.result([])


def test_every_public_function_has_a_call(connect: Callable[..., psycopg.Connection[Any]]) -> None:
    rows = connect().execute("select proname from pg_proc where pronamespace = 'credits'::regnamespace").fetchall()
    assert {name for (name,) in rows} == set(CALLS)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_call_matches_the_sql_function(name: str, connect: Callable[..., psycopg.Connection[Any]]) -> None:
    """Parameters (names, order, types, which have defaults), one row or a set, and result columns as in SQL.

    A function returning one value (now) has no result columns: its call returns that value, of the SQL type.
    """
    call = CALLS[name]
    (function,) = connect().execute(
        """
        select format_type(p.prorettype, null), array(select format_type(t, null) from unnest(p.proargtypes) t),
               p.proargnames[1:p.pronargs], p.pronargdefaults, p.proretset,
               coalesce(
                 (select array_agg(a.attname::text order by a.attnum) from pg_type r
                  join pg_attribute a on a.attrelid = r.typrelid and a.attnum > 0 and not a.attisdropped
                  where r.oid = p.prorettype),
                 (select array_agg(arg.name order by arg.n) from unnest(p.proargnames, p.proargmodes)
                  with ordinality arg(name, mode, n) where arg.mode = 't'))
        from pg_proc p where p.pronamespace = 'credits'::regnamespace and p.proname = %s
        """,
        [name],
    ).fetchall()
    return_type, types, names, defaults, returns_set, columns = function
    parameters = list(call.signature.parameters.values())
    assert [p.name for p in parameters] == (names or [])
    assert [call.sql_types[p.name] for p in parameters] == [_short_type(t) for t in types]
    assert sum(p.default is not p.empty for p in parameters) == defaults
    assert call.many == (returns_set and name not in ONE_ROW_SETS)
    if columns is None:
        assert call.scalar and _SQL_TYPES[call.model] == _short_type(return_type)
    else:
        assert not call.scalar and list(call.model.model_fields) == columns


# `returns table (...)` is a set to PostgreSQL; these return exactly one row (SPEC §2).
ONE_ROW_SETS = {
    "get_or_create_active_period", "grant_credits", "purchase_credits", "check_feature", "deduct_credits",
    "refund_transaction", "void_grant", "reserve_credits", "capture_hold", "release_hold", "expire_holds",
    "expire_grants", "prune_events", "grant_daily_credits", "grant_subscriber_monthly_credits", "watch_events",
    "unwatch_events", "set_grant_expiry",
}


def _short_type(sql_type: str) -> str:
    return {"timestamp with time zone": "timestamptz"}.get(sql_type, sql_type)


def test_methods_show_their_sql_signature(db: str) -> None:
    credits = Credits(db)
    signature = inspect.signature(credits.deduct_credits)
    assert list(signature.parameters) == ["account_id", "feature", "units", "idempotency_key", "metadata", "amount"]
    assert signature.return_annotation is Charge
    assert credits.deduct_credits.__doc__
    assert inspect.iscoroutinefunction(AsyncCredits(db).deduct_credits)
    assert inspect.signature(AsyncCredits(db).get_balance).return_annotation == list[Balance]
    assert Credits.grant_daily_credits.statement([], {"day": date(2027, 1, 5)}) == (
        'select * from credits.grant_daily_credits("day" => $1::date)', [date(2027, 1, 5)]
    )
    assert Credits.grant_daily_credits.statement([], {}) == ("select * from credits.grant_daily_credits()", [])


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_schedule_jobs_lists_the_pg_cron_jobs(cron_db: str, kind: str) -> None:
    """In the session's pg_cron database (shared: the jobs are unscheduled after)."""
    try:
        if kind == "sync":
            with Credits(cron_db) as credits:
                jobs = credits.schedule_jobs()
        else:
            async def schedule() -> list[Any]:
                async with AsyncCredits(cron_db) as credits:
                    return await credits.schedule_jobs()

            jobs = asyncio.run(schedule())
        names = {job.job_name for job in jobs}
        assert {"credits.expire_holds", "credits.clean_cron_history"} <= names
        assert all(job.jobid > 0 and job.schedule and job.command for job in jobs)
    finally:
        with psycopg.connect(cron_db, autocommit=True) as conn:
            conn.execute(
                "select cron.unschedule(jobid) from cron.job where username = 'postgres' and jobname like 'credits.%'"
            )
