"""The Python clients of the credits ledger: `Credits` (psycopg 3, blocking) and `AsyncCredits` (asyncpg).

Each method is one public SQL function of schema `credits`, called as exactly
one `select * from credits.fn("name" => $1::type, ...)` with bound values, and
returns pydantic models (`pgcredits.models`) built from the rows. Only the
arguments the caller gave are sent, so the SQL defaults apply; every rule
lives in the database. A PostgreSQL error is raised as the `CreditsError`
subclass that `pgcredits.errors` maps its SQLSTATE to (`NotFound`,
`IdempotencyConflict`, `InvalidArgument`, `PermissionDenied`, ...).

How one description serves both clients
---------------------------------------
`_Functions` below is the table of calls: one stub per SQL function, decorated
with `@rpc`. The stub's name is the SQL function's name, its parameters (names,
types, `DEFAULT` where the SQL function has a default) are the SQL parameters,
its return annotation is the result model, `list[Model]` for a function that
returns a set, or a plain type (`datetime`) for a function that returns one
value (`credits.now()`). A parameter's SQL type comes from its annotation (`str` is
text, `Amount` numeric, `BigInt` bigint, `Json` jsonb, ...). `rpc` turns the
stub into a descriptor (`Rpc`) that builds the statement and the result; it
never runs the stub's body. Both clients inherit the table: on a `Credits`
the descriptor gives a method returning the model, on an `AsyncCredits` a
coroutine function returning it. The descriptor's `__get__` is typed with the
stub's `ParamSpec` and overloaded on the client class, so an IDE or a type
checker sees the real signature of `credits.deduct_credits(...)` on both
clients, and `inspect.signature` / `help()` show it at run time. No method is
written twice, and no code is generated from strings.

Transactions and identity
-------------------------
A client made from a conninfo owns its connection (psycopg: one autocommit
connection; asyncpg: a pool): each call is its own transaction. A client made
with `connection=` runs its calls in that connection's current transaction and
never commits it, so a debit commits or rolls back with the app's own write.
`client.transaction()` opens one transaction on the client's connection and
yields a client bound to it (`tx.connection` is that connection, for the app's
own statements).

A `PermissionDenied` from PostgreSQL itself ("permission denied for function
X": the caller's role may not execute it) carries no hint; the client fills
`hint` with the roles that may call it, as the gateway does ("may be called
by: credits_admin, credits_service"), read from the catalog once per function
and client: on the client's own connection when it is idle, else on a
connection of its own (a new one, or the pool's), and where it has neither (a
caller's connection in a failed transaction) a hint saying where to look. With `role=` and `claims=` the client acts for an end user
like the gateway does: each transaction starts with `set_config('role', ...,
true)` and `set_config('request.jwt.claims', ..., true)`, transaction-local.

PgBouncer in transaction mode
-----------------------------
Consecutive transactions may run on different server connections, so nothing
may outlive a transaction: no session settings (identity is transaction-local)
and no named prepared statements. Connections the clients open therefore
default to `prepare_threshold=None` (psycopg) and `statement_cache_size=0`
(asyncpg). On a direct connection, pass `prepare_threshold=5` or
`statement_cache_size=100` to have them back; every other keyword argument goes
to `psycopg.connect` / `asyncpg.create_pool` as well.
"""

# The stubs of _Functions have a docstring for a body: rpc() reads their signature and never runs them.
# mypy: disable-error-code="empty-body"

from __future__ import annotations

import asyncio
import inspect
import threading
import types
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    Self,
    TypeVar,
    Union,
    get_args,
    get_origin,
    overload,
)

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads

from pydantic import TypeAdapter

from pgcredits.errors import CreditsError, PermissionDenied, callers_hint, from_sqlstate
from pgcredits.models import (
    Account,
    AutoTopUp,
    Balance,
    BalanceAt,
    Charge,
    CreditType,
    CronJob,
    DailyGrants,
    EventsPruned,
    Feature,
    FeatureCheck,
    GrantExpiry,
    GrantResult,
    GrantsExpired,
    HoldsExpired,
    LedgerEntry,
    OpenedAccount,
    Period,
    Plan,
    PlanFeature,
    PoolMember,
    PoolSlice,
    Quota,
    Refund,
    Released,
    Reservation,
    Result,
    SubscriberGrant,
    TopUpRequest,
    Unwatched,
    Voided,
    Watching,
    json_loads,
)
from pgcredits.sqltext import CALLER_ROLES, CLAIMS, ROLE, json_text, named_call, set_caller

if TYPE_CHECKING:
    import asyncpg
else:
    try:
        import asyncpg
    except ModuleNotFoundError:  # the asyncio client's driver is an extra; the blocking client needs none
        asyncpg = None

__all__ = ["DEFAULT", "AsyncCredits", "Credits", "Rpc"]


class _Default:
    """The type of `DEFAULT`."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()
"""The default of every optional parameter: the argument is not sent, so the SQL function's own default applies."""

# SQL types of parameters, for the annotations that do not say it themselves.
Integer = Annotated[int, "integer"]
BigInt = Annotated[int, "bigint"]
Amount = Annotated[Decimal | int, "numeric"]  # exact: a float is refused
Json = Annotated[Mapping[str, Any], "jsonb"]
Texts = Annotated[Sequence[str], "text[]"]
_SQL_TYPES: dict[Any, str] = {
    str: "text",
    bool: "boolean",
    datetime: "timestamptz",
    date: "date",
    timedelta: "interval",
}
# How a value of a SQL type is bound: jsonb is sent as text, whatever codec a caller's connection has.
_CASTS = {"jsonb": "text::jsonb"}

_P = ParamSpec("_P")
_R = TypeVar("_R")


class Rpc(Generic[_P, _R]):
    """One public SQL function: its name, parameters and SQL types, result model, and one row or a set.

    Built by `@rpc` from a stub whose signature is the call's; on a client
    instance it is the method that runs the call (see `__get__`).
    """

    def __init__(self, stub: Callable[Concatenate[Any, _P], _R]) -> None:
        self.name = stub.__name__
        self.__doc__ = stub.__doc__
        signature = inspect.signature(stub, eval_str=True)
        parameters = list(signature.parameters.values())[1:]  # without self
        self.signature = signature.replace(parameters=parameters)
        self.sql_types = {parameter.name: _sql_type(parameter.annotation) for parameter in parameters}
        result = signature.return_annotation
        self.many = get_origin(result) is list
        self.model: type[Result] = get_args(result)[0] if self.many else result
        # A function returning one value (credits.now()) is annotated with that value's type.
        self.scalar = not (isinstance(self.model, type) and issubclass(self.model, Result))

    def statement(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and its bound values for a call with these arguments; the arguments left at DEFAULT are not sent."""
        given = [(name, value) for name, value in self.signature.bind(*args, **kwargs).arguments.items()
                 if value is not DEFAULT]
        arguments = [(name, f"${number}::{_CASTS.get(self.sql_types[name], self.sql_types[name])}")
                     for number, (name, _) in enumerate(given, start=1)]
        values = [_bind(self.name, name, self.sql_types[name], value) for name, value in given]
        return f"select * from {named_call(f'credits.{self.name}', arguments)}", values

    def result(self, rows: Sequence[Mapping[str, Any]]) -> _R:
        """The models of the rows: a list for a set-returning function, else the one row (its value, for a scalar)."""
        if self.scalar:
            models: list[Any] = [TypeAdapter(self.model).validate_python(next(iter(dict(row).values())))
                                 for row in rows]
        else:
            models = [self.model.model_validate(dict(row)) for row in rows]
        if self.many:
            return models  # type: ignore[return-value]
        if len(models) != 1:
            raise CreditsError(f"credits.{self.name} returned {len(models)} rows where exactly one was expected")
        return models[0]  # type: ignore[return-value]

    def dress(self, method: Callable[..., Any], client: object) -> None:
        """Give a client's method this call's name, documentation and signature (for help() and IDEs)."""
        method.__name__ = self.name
        method.__qualname__ = f"{type(client).__name__}.{self.name}"
        method.__doc__ = self.__doc__
        method.__signature__ = self.signature  # type: ignore[attr-defined]

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Rpc[_P, _R]: ...

    @overload
    def __get__(self, client: Credits, owner: type[Any]) -> Callable[_P, _R]: ...

    @overload
    def __get__(self, client: AsyncCredits, owner: type[Any]) -> Callable[_P, Coroutine[Any, Any, _R]]: ...

    def __get__(self, client: Credits | AsyncCredits | None, owner: type[Any]) -> Any:
        if client is None:
            return self
        return client._method(self)


def rpc(stub: Callable[Concatenate[Any, _P], _R]) -> Rpc[_P, _R]:
    """Declare a SQL function of schema `credits` by a stub with its signature (the body is never run)."""
    return Rpc(stub)


def _sql_type(annotation: Any) -> str:
    """The SQL type of a parameter's annotation: `X | None` is X's; Annotated[..., "type"] says it."""
    if get_origin(annotation) is Annotated:
        return next(meta for meta in annotation.__metadata__ if isinstance(meta, str))
    if get_origin(annotation) in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _sql_type(inner)
    if annotation in _SQL_TYPES:
        return _SQL_TYPES[annotation]
    raise TypeError(f"no SQL type for the annotation {annotation!r}: use a type of _SQL_TYPES or Annotated")


def _bind(function: str, name: str, sql_type: str, value: Any) -> Any:
    """A Python value as bound for its SQL type: jsonb as JSON text; a float for numeric is refused."""
    if value is None:
        return None
    if sql_type == "jsonb":
        return json_text(value)
    if sql_type == "numeric" and isinstance(value, float):
        raise TypeError(f"credits.{function}: {name} must be a Decimal or an int, not the float {value!r}")
    return value


# Who may call a function: the four caller roles granted EXECUTE on it (the gateway says the same).
_CALLERS_QUERY = (
    "select array(select r from unnest($1::text[]) r"
    " where has_function_privilege(r, p.oid, 'execute') order by r)::text[]"
    " from pg_proc p where p.pronamespace = 'credits'::regnamespace and p.proname = $2 order by p.oid limit 1"
)


def _unknown_callers_hint(function: str) -> str:
    """The hint when the catalog cannot be read (a caller's connection in a failed transaction)."""
    return (f"call credits.{function} as a role granted EXECUTE on it (docs/contract.md, roles); "
            f"has_function_privilege(role, 'credits.{function}', 'execute') tells which")


def _needs_callers_hint(error: CreditsError) -> bool:
    """PostgreSQL's own refusal to run a function for the caller's role: it has no hint."""
    return (isinstance(error, PermissionDenied) and error.hint is None
            and error.message.startswith("permission denied for function"))


def _identity(role: str | None, claims: Mapping[str, Any] | None) -> tuple[str, list[Any]] | None:
    """The statement that sets the caller's role and claims for the rest of the transaction, as the gateway does."""
    settings = {ROLE: role, CLAIMS: None if claims is None else json_text(claims)}
    given = {name: value for name, value in settings.items() if value is not None}
    if not given:
        return None
    return set_caller(list(given)), list(given.values())


class _Functions:
    """The public SQL functions of schema `credits`, one stub each (see the module docstring)."""

    # Catalog (admin)
    @rpc
    def upsert_credit_type(self, code: str, description: str | None = DEFAULT) -> CreditType:
        """Creates or updates a credit type (a currency of credits)."""

    @rpc
    def upsert_feature(self, code: str, credit_type: str = DEFAULT, base_cost: Amount = DEFAULT,
                       unit_rates: Json = DEFAULT, description: str | None = DEFAULT) -> Feature:
        """Creates or updates a feature: cost = base_cost + sum(unit_rates[u] * units[u])."""

    @rpc
    def upsert_plan(self, code: str, signup_grant: Json = DEFAULT, monthly_allowance: Json = DEFAULT,
                    daily_allowance: Json = DEFAULT, unlimited: bool = DEFAULT,
                    description: str | None = DEFAULT, is_default: bool | None = DEFAULT,
                    rollover: Json | None = DEFAULT, overdraft: Json | None = DEFAULT) -> Plan:
        """Creates or updates a plan; allowances are keyed by credit type ({"credits": 6}); is_default=True
        makes it the plan a canceled subscription falls back to; rollover ({"credits": {"max": 100,
        "fraction": 0.5}}) is what of the unused monthly allowance carries over at a renewal; overdraft
        ({"credits": 50}) how far below zero a debit may take a balance (None: as it is)."""

    @rpc
    def set_plan_feature(self, plan: str, feature: str, enabled: bool = DEFAULT, period_limit: Integer | None = DEFAULT,
                         cost_override: Amount | None = DEFAULT) -> PlanFeature:
        """Includes a feature in a plan (or not), with a per-period count limit and a cost override."""

    # Accounts and balances
    @rpc
    def open_account(self, account_id: str, plan: str = DEFAULT, is_demo: bool = DEFAULT, timezone: str = DEFAULT,
                     metadata: Json = DEFAULT) -> OpenedAccount:
        """Opens an account with its plan's signup grant and first period; an existing account is returned as is
        (opened False, `differences` naming what this call asked for that it does not have)."""

    @rpc
    def update_account(self, account_id: str, plan: str | None = DEFAULT, is_demo: bool | None = DEFAULT) -> Account:
        """Changes an account's plan (a higher one at once, a lower one at the period's end) or demo flag."""

    @rpc
    def set_account_status(self, account_id: str, status: str, reason: str) -> Account:
        """Sets an account active, suspended or closed (admin and service)."""

    @rpc
    def get_balance(self, account_id: str) -> list[Balance]:
        """The account's balance, one row per credit type."""

    @rpc
    def get_history(self, account_id: str, page_size: Integer = DEFAULT,
                    before_id: BigInt | None = DEFAULT) -> list[LedgerEntry]:
        """Ledger rows of the account, newest first, keyset-paged by before_id."""

    @rpc
    def get_or_create_active_period(self, account_id: str) -> Period:
        """The account's current period, opened (with its allowances) when the last one has ended."""

    @rpc
    def balance_at(self, account_id: str, at: datetime) -> list[BalanceAt]:
        """The account's available credits per credit type as the ledger stood at a moment."""

    # Granting
    @rpc
    def grant_credits(self, account_id: str, amount: Amount, source: str = DEFAULT, credit_type: str = DEFAULT,
                      expires_at: datetime | None = DEFAULT, priority: Integer | None = DEFAULT,
                      idempotency_key: str | None = DEFAULT, reason: str | None = DEFAULT,
                      starts_at: datetime | None = DEFAULT) -> GrantResult:
        """Grants credits (admin and service); an admin grant needs a reason; a future starts_at counts from then."""

    @rpc
    def purchase_credits(self, account_id: str, amount: Amount, payment_ref: str, credit_type: str = DEFAULT,
                         expires_at: datetime | None = DEFAULT, price: Amount | None = DEFAULT,
                         currency: str | None = DEFAULT) -> GrantResult:
        """Records purchased credits at a price, idempotent on payment_ref (an auto top-up's request id answers it)."""

    @rpc
    def set_auto_top_up(self, account_id: str, credit_type: str, threshold: Amount | None, credits: Amount | None,
                        price: Amount | None = DEFAULT, cooldown: timedelta = DEFAULT,
                        monthly_limit: Amount | None = DEFAULT, currency: str | None = DEFAULT) -> AutoTopUp:
        """Sets (a None threshold: removes) the auto top-up of a balance (admin and service)."""

    @rpc
    def fail_top_up(self, request_id: str, reason: str) -> TopUpRequest:
        """Fails an auto top-up request whose payment was declined; the next waits twice as long."""

    # Spending
    @rpc
    def check_feature(self, account_id: str, feature: str, units: Json = DEFAULT) -> FeatureCheck:
        """Whether the feature may run now, its cost and the grants it would draw from; changes nothing."""

    @rpc
    def get_quotas(self, account_id: str) -> list[Quota]:
        """Every feature of the account's plan: cost, allowed, the period limit, used, remaining, next reset."""

    @rpc
    def deduct_credits(self, account_id: str, feature: str, units: Json = DEFAULT,
                       idempotency_key: str | None = DEFAULT, metadata: Json = DEFAULT,
                       amount: Amount | None = DEFAULT) -> Charge:
        """Charges a feature's cost (or amount); ok = false with a reason when refused."""

    @rpc
    def reserve_credits(self, account_id: str, feature: str, units: Json = DEFAULT,
                        idempotency_key: str | None = DEFAULT, ttl: timedelta = DEFAULT,
                        amount: Amount | None = DEFAULT) -> Reservation:
        """Holds a feature's cost for work that may fail, until captured, released or expired."""

    @rpc
    def capture_hold(self, hold_id: BigInt, amount: Amount | None = DEFAULT, metadata: Json = DEFAULT,
                     account_id: str | None = DEFAULT) -> Charge:
        """Charges a hold (all of it, or amount) and releases the rest; capturing twice returns the first result."""

    @rpc
    def release_hold(self, hold_id: BigInt, account_id: str | None = DEFAULT) -> Released:
        """Releases a hold; releasing twice is a no-op."""

    # Corrections (admin)
    @rpc
    def refund_transaction(self, transaction_id: BigInt, reason: str, amount: Amount | None = DEFAULT,
                           account_id: str | None = DEFAULT) -> Refund:
        """Refunds a debit (all of it, or amount) to the grants that paid."""

    @rpc
    def void_grant(self, grant_id: BigInt, reason: str, account_id: str | None = DEFAULT) -> Voided:
        """Voids what is left of a grant."""

    @rpc
    def set_grant_expiry(self, grant_id: BigInt, expires_at: datetime | None, reason: str,
                         account_id: str | None = DEFAULT) -> GrantExpiry:
        """Moves the end of a grant (None: never); an end already passed expires it at once (admin)."""

    @rpc
    def reset_credits(self, account_id: str, reason: str) -> list[Balance]:
        """Re-issues the current period's allowances; returns the balance rows after."""

    # Teams (admin and service; get_pool also a member)
    @rpc
    def add_pool_member(self, pool_id: str, member_id: str, caps: Json = DEFAULT) -> PoolMember:
        """Makes member_id draw on pool_id once its own credits fall short, within caps per credit type and period."""

    @rpc
    def set_member_caps(self, pool_id: str, member_id: str, caps: Json) -> PoolMember:
        """Replaces a member's caps ({"credits": 50}; absent or null: no cap)."""

    @rpc
    def remove_pool_member(self, pool_id: str, member_id: str) -> PoolMember:
        """Removes a member from its pool; returns the membership as it was."""

    @rpc
    def get_pool(self, pool_id: str) -> list[PoolSlice]:
        """The pool's members: caps, used this period, what is left (a member: its own row; pool_admin: all)."""

    # Subscriptions
    @rpc
    def apply_subscription_event(self, event_id: str, account_id: str, plan: str, status: str,
                                 period_start: datetime, period_end: datetime) -> Account:
        """Applies a payment provider's subscription event, idempotent on event_id."""

    @rpc
    def grant_subscriber_monthly_credits(self, account_id: str) -> SubscriberGrant:
        """Issues the plan's monthly allowance for the current period, once per period."""

    # Maintenance (cron)
    @rpc
    def expire_holds(self) -> HoldsExpired:
        """Releases the holds past their expires_at."""

    @rpc
    def expire_grants(self) -> GrantsExpired:
        """Writes off the grants past their expires_at (expiry ledger rows)."""

    @rpc
    def prune_events(self) -> EventsPruned:
        """Deletes the events older than the database setting credits.event_retention (90 days)."""

    @rpc
    def watch_events(self, watcher: str, account_ids: Texts, ttl: timedelta | None = DEFAULT) -> Watching:
        """`watcher` watches these accounts' events ('*': all) for ttl (None: until unwatched): they are notified."""

    @rpc
    def unwatch_events(self, watcher: str, account_ids: Texts | None = DEFAULT) -> Unwatched:
        """`watcher` no longer watches these accounts (None: any)."""

    @rpc
    def grant_daily_credits(self, day: date | None = DEFAULT) -> DailyGrants:
        """Issues the daily allowances for a day (default: today), once per account and local day."""

    @rpc
    def schedule_jobs(self) -> list[CronJob]:
        """Installs or updates the pg_cron jobs (none, with a notice, where pg_cron is absent)."""

    # Time
    @rpc
    def now(self) -> datetime:
        """The ledger's clock: now(), or the session's credits.now where the database allows the override."""


class Credits(_Functions):
    """The blocking client (psycopg 3): `Credits(conninfo, **options)` or `Credits(connection=conn)`.

    With a conninfo the client opens one autocommit connection on first use
    (`options` go to `psycopg.connect`; `prepare_threshold` defaults to None,
    for PgBouncer) and each call is its own transaction. With `connection=`
    calls run in that connection's transaction, which the caller commits.
    `role` and `claims` (e.g. `{"sub": "u_42"}`) act for an end user, set
    transaction-locally. Calls from several threads are serialized.
    """

    def __init__(self, conninfo: str | None = None, *, connection: psycopg.Connection[Any] | None = None,
                 role: str | None = None, claims: Mapping[str, Any] | None = None, **options: Any) -> None:
        _check_source(conninfo, connection, options)
        self._conninfo = conninfo
        self._options = {"prepare_threshold": None, **options, "autocommit": True}
        self._connection = connection
        self._owned = connection is None
        self._identity = _identity(role, claims)
        self._lock = threading.RLock()
        # PermissionDenied hints by function, and where to read them when the connection cannot (see the module).
        self._hints: dict[str, str] = {}
        self._hint_conninfo = conninfo

    @property
    def connection(self) -> psycopg.Connection[Any]:
        """The connection calls run on; a client that owns it opens it now if it is not open."""
        with self._lock:
            if self._connection is None or (self._owned and self._connection.closed):
                self._connection = psycopg.connect(self._conninfo or "", **self._options)
            return self._connection

    @contextmanager
    def transaction(self) -> Iterator[Credits]:
        """One transaction on the client's connection, with its identity: commits at the end, rolls back on error.

        Yields a client bound to the transaction; `tx.connection` runs the app's own statements in it.
        On a connection already in a transaction this is a savepoint (psycopg's `Connection.transaction`).
        """
        with self._lock:
            connection = self.connection
            with connection.transaction():
                if self._identity is not None:
                    _fetch(connection, *self._identity)
                bound = Credits(connection=connection)
                bound._hints, bound._hint_conninfo, bound._options = self._hints, self._hint_conninfo, self._options
                yield bound

    def close(self) -> None:
        """Close the connection if the client opened it; a caller's connection stays open."""
        with self._lock:
            if self._owned and self._connection is not None:
                self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _method(self, call: Rpc[..., Any]) -> Callable[..., Any]:
        def method(*args: Any, **kwargs: Any) -> Any:
            return self._call(call, *call.statement(args, kwargs))

        call.dress(method, self)
        return method

    def _call(self, call: Rpc[..., Any], query: str, values: list[Any]) -> Any:
        with self._lock:
            connection = self.connection
            idle = connection.info.transaction_status == TransactionStatus.IDLE
            try:
                if self._identity is None or not (idle and connection.autocommit):
                    return call.result(self._run(connection, query, values))
                with connection.transaction():  # the identity and the call in one transaction
                    return call.result(self._run(connection, query, values))
            except CreditsError as error:
                if _needs_callers_hint(error):
                    error.hint = self._callers(call.name)
                raise

    def _callers(self, function: str) -> str:
        """The hint naming who may call `function`: on the idle connection, else on a new one, else where to look."""
        if function not in self._hints:
            connection = self._connection
            query, values = _CALLERS_QUERY, [list(CALLER_ROLES), function]
            if (connection is not None and not connection.closed and connection.autocommit
                    and connection.info.transaction_status == TransactionStatus.IDLE):
                rows = _fetch(connection, query, values)
            elif self._hint_conninfo is not None:
                with psycopg.connect(self._hint_conninfo, **self._options) as own:
                    rows = _fetch(own, query, values)
            else:
                return _unknown_callers_hint(function)
            self._hints[function] = callers_hint(next(iter(rows[0].values())) if rows else ())
        return self._hints[function]

    def _run(self, connection: psycopg.Connection[Any], query: str, values: list[Any]) -> list[dict[str, Any]]:
        if self._identity is not None:
            _fetch(connection, *self._identity)
        return _fetch(connection, query, values)


def _fetch(connection: psycopg.Connection[Any], query: str, values: list[Any]) -> list[dict[str, Any]]:
    """Run one statement with $n placeholders; a PostgreSQL error becomes its CreditsError."""
    try:
        with psycopg.RawCursor(connection, row_factory=dict_row) as cursor:
            set_json_loads(json_loads, cursor)
            cursor.execute(query, values)
            return cursor.fetchall() if cursor.description else []
    except psycopg.Error as error:
        if error.sqlstate is None:
            raise
        diag = error.diag
        raise from_sqlstate(error.sqlstate, diag.message_primary or str(error), details=diag.message_detail,
                            hint=diag.message_hint) from error


class AsyncCredits(_Functions):
    """The asyncio client (asyncpg): `AsyncCredits(conninfo, **options)` or `AsyncCredits(connection=conn)`.

    With a conninfo the client creates an asyncpg pool on first use (`options`
    go to `asyncpg.create_pool`; `statement_cache_size` defaults to 0, for
    PgBouncer, and `min_size` to 1) and each call is its own transaction. With
    `connection=` calls run in that connection's transaction, if one is open.
    `role` and `claims` act for an end user, set transaction-locally.
    """

    def __init__(self, conninfo: str | None = None, *, connection: asyncpg.Connection | None = None,
                 role: str | None = None, claims: Mapping[str, Any] | None = None, **options: Any) -> None:
        if asyncpg is None:
            raise ModuleNotFoundError("AsyncCredits needs asyncpg: pip install 'pgcredits[async]'", name="asyncpg")
        _check_source(conninfo, connection, options)
        self._conninfo = conninfo
        self._options = {"statement_cache_size": 0, "min_size": 1, **options}
        self._connection = connection
        self._pool: asyncpg.Pool | None = None
        self._identity = _identity(role, claims)
        self._lock = asyncio.Lock()  # a caller's connection runs one statement at a time; the pool is made once
        # PermissionDenied hints by function; the pool (a client's, or its parent's) reads them (see the module).
        self._hints: dict[str, str] = {}
        self._hint_pool: asyncpg.Pool | None = None

    @property
    def connection(self) -> asyncpg.Connection:
        """The caller's connection (a client made with `connection=`, such as the one `transaction()` yields)."""
        if self._connection is None:
            raise AttributeError("this AsyncCredits uses a pool: the connection is the one of `transaction()`")
        return self._connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncCredits]:
        """One transaction with the client's identity: commits at the end, rolls back on error.

        Yields a client bound to the transaction; `tx.connection` runs the app's own statements in it.
        """
        async with self._acquire() as connection, connection.transaction():
            if self._identity is not None:
                await _fetch_async(connection, *self._identity)
            bound = AsyncCredits(connection=connection)
            bound._hints, bound._hint_pool = self._hints, self._pool
            yield bound

    async def close(self) -> None:
        """Close the pool if the client made one; a caller's connection stays open."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _method(self, call: Rpc[..., Any]) -> Callable[..., Any]:
        async def method(*args: Any, **kwargs: Any) -> Any:
            return await self._call(call, *call.statement(args, kwargs))

        call.dress(method, self)
        return method

    async def _call(self, call: Rpc[..., Any], query: str, values: list[Any]) -> Any:
        async with self._acquire() as connection:
            try:
                if self._identity is None or connection.is_in_transaction():
                    return call.result(await self._run(connection, query, values))
                async with connection.transaction():  # the identity and the call in one transaction
                    return call.result(await self._run(connection, query, values))
            except CreditsError as error:
                if _needs_callers_hint(error):
                    error.hint = await self._callers(connection, call.name)
                raise

    async def _callers(self, connection: asyncpg.Connection, function: str) -> str:
        """The hint naming who may call `function`: on the connection outside a transaction, else on the pool's."""
        if function not in self._hints:
            query, values = _CALLERS_QUERY, [list(CALLER_ROLES), function]
            pool = self._pool or self._hint_pool
            if not connection.is_in_transaction():
                rows = await _fetch_async(connection, query, values)
            elif pool is not None:
                async with pool.acquire() as own:
                    rows = await _fetch_async(own, query, values)
            else:
                return _unknown_callers_hint(function)
            self._hints[function] = callers_hint(rows[0][0] if rows else ())
        return self._hints[function]

    async def _run(self, connection: asyncpg.Connection, query: str, values: list[Any]) -> list[asyncpg.Record]:
        if self._identity is not None:
            await _fetch_async(connection, *self._identity)
        return await _fetch_async(connection, query, values)

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[asyncpg.Connection]:
        if self._connection is not None:
            async with self._lock:
                yield self._connection
            return
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(self._conninfo, **self._options)
        async with self._pool.acquire() as connection:
            yield connection


async def _fetch_async(connection: asyncpg.Connection, query: str, values: list[Any]) -> list[asyncpg.Record]:
    """Run one statement; a PostgreSQL error becomes its CreditsError."""
    try:
        rows: list[asyncpg.Record] = await connection.fetch(query, *values)
        return rows
    except asyncpg.PostgresError as error:
        raise from_sqlstate(error.sqlstate, error.message or str(error), details=error.detail,
                            hint=error.hint) from error


def _check_source(conninfo: str | None, connection: object | None, options: Mapping[str, Any]) -> None:
    """A client gets a conninfo (and options to open connections) or a connection, not both."""
    if (conninfo is None) == (connection is None):
        raise TypeError("give either a conninfo or connection=, not both and not neither")
    if connection is not None and options:
        raise TypeError(f"connection options ({', '.join(options)}) need a conninfo, not connection=")
