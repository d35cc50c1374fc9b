"""The HTTP gateway of SPEC §5 and §5a: a small PostgREST for the functions of schema `credits`.

Per RPC request: verify the caller's JWT (remembered once verified), find the
function in the catalog read at start-up, read what the request asks beyond
the arguments as PostgREST 12 does (gateway.query: `select=`, filters,
`order`, `limit`/`offset`, `Range`, `Prefer`, `Accept`), check the arguments
against the catalog, then ONE transaction (read-only for STABLE and IMMUTABLE
functions) that sets the role, `request.jwt.claims` and `statement_timeout`
transaction-locally in one statement and makes one named-argument call with
bound values that also filters, orders, pages and counts its rows
(catalog.Function.bind): begin, set, call, commit. `Prefer: tx=rollback`, a
`.single()` that did not find exactly one row and a range past the end roll
it back instead. Everything is transaction-local and the pool runs no reset
query between requests; statements are prepared once per connection unless
`prepared_statements` is off (PGCREDITS_PREPARED_STATEMENTS=0), as it must
be behind PgBouncer in transaction mode. Errors come out as
`{code, message, details, hint}` with the statuses of pgcredits.errors and
PostgREST's own codes where PostgREST raises them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from pgcredits.errors import RETRYABLE_SQLSTATES, RetryableConflict, StatementCanceled, error_class
from pgcredits.gateway.auth import DEFAULT_ROLE, Authenticator, AuthError, Identity, role_map
from pgcredits.gateway.catalog import (
    _JSON_TYPES,
    CATALOG_QUERY,
    ROLES,
    SCHEMA,
    ArgumentError,
    Catalog,
    Function,
    parse_catalog,
)
from pgcredits.gateway.cors import CORS, parse_origins
from pgcredits.gateway.events import WATCH_TTL, EventHub, Subscriber, TooManyStreams, stream
from pgcredits.gateway.limits import (
    MAX_BODY_BYTES,
    MAX_DATABASE_TEXT_CHARS,
    MAX_JSON_DEPTH,
    TooDeep,
    check_depth,
    depth_message,
    echo,
)
from pgcredits.gateway.metrics import UNKNOWN_FUNCTION, Metrics
from pgcredits.gateway.openapi import build_openapi
from pgcredits.gateway.query import (
    OBJECT,
    RequestError,
    Shape,
    combine_ranges,
    parse_accept,
    parse_prefer,
    parse_query,
    parse_range,
)

log = logging.getLogger("pgcredits.gateway")
T = TypeVar("T")

SET_CALLER = ("select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), "
              "set_config('statement_timeout', $3, true)")
REREAD_EVENT = ("select e.kind, to_json(e)::text from credits.events e "
                "where e.account_id = $1 and e.event_id = $2::text::bigint")
EVENTS_WATERMARK = "select coalesce(max(e.event_id), 0) from credits.events e where e.account_id = $1"
# Only watched accounts are notified (credits.watch_events): this process watches the accounts it streams.
WATCH_EVENTS = "select watching from credits.watch_events($1, $2::text[], $3::text::interval)"
UNWATCH_EVENTS = "select unwatched from credits.unwatch_events($1, $2::text[])"
RETRY_AFTER_SECONDS = "1"
# Defaults of PGCREDITS_STATEMENT_TIMEOUT (credits_user) and PGCREDITS_SERVICE_STATEMENT_TIMEOUT (the others).
USER_STATEMENT_TIMEOUT = "5s"
SERVICE_STATEMENT_TIMEOUT = "60s"
STREAMS_PER_SUBJECT = 10
POOL_SIZE = 10
EVENTS_POOL_SIZE = 2
STATEMENT_CACHE_SIZE = 256  # prepared statements kept per connection (when prepared_statements is on)
JSON_TYPE = "application/json; charset=utf-8"
RPC_METHODS = ["GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]
OBJECT_TYPE = f"{OBJECT}; charset=utf-8"
# A duration as statement_timeout takes it: a number, with a unit or milliseconds; 0 is no limit.
_DURATION = re.compile(r"\d+(\.\d+)?\s*(us|ms|s|min|h|d)?")
_IDEMPOTENCY_KEY_HEADER = re.compile(rb"[\x20-\x7e]*")  # printable ASCII: read the same by every client
# The connection broke, or the server is shutting down or starting up: the database is unavailable.
UNAVAILABLE_ERRORS = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
                      asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError)


class HTTPError(Exception):
    """An answer other than 200: its status and `{code, message, details, hint}` body."""

    def __init__(self, status: int, code: str, message: str, *, details: str | None = None,
                 hint: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message, "details": details, "hint": hint}
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)

    @classmethod
    def of(cls, err: RequestError) -> HTTPError:
        return cls(err.status, err.code, err.message, details=err.details, hint=err.hint)


class _RollBack(Exception):
    """Ends a transaction with ROLLBACK and hands its result back (tx=rollback, a failed .single(), a bad range)."""

    def __init__(self, result: Any) -> None:
        super().__init__("rolled back")
        self.result = result


class _Unavailable(Exception):
    """The database could not be reached; `after_call` when the call may have run (its outcome is unknown)."""

    def __init__(self, cause: BaseException, *, after_call: bool) -> None:
        super().__init__(str(cause))
        self.after_call = after_call


class Gateway:
    """The state of one app: the pools, the catalog, the event hub, the metrics and how to authenticate."""

    def __init__(self, database_url: str, authenticator: Authenticator, *, retries: int, heartbeat: float,
                 pool_size: int, events_pool_size: int, probe_interval: float, streams_per_subject: int,
                 statement_timeouts: dict[str, str], listen_url: str | None = None,
                 prepared_statements: bool = True) -> None:
        self.database_url = database_url
        self.prepared_statements = prepared_statements
        self.authenticator = authenticator
        self.retries = retries
        self.heartbeat = heartbeat
        self.pool_size = pool_size
        self.events_pool_size = events_pool_size
        self.statement_timeouts = statement_timeouts
        self.metrics = Metrics()
        # Who this process is to credits.watch_events: one name per process, so its watches are its own.
        self.watcher = f"gateway:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.hub = EventHub(listen_url or database_url, reread=self._reread_event, watermark=self._events_watermark,
                            watch=self._watch_events,
                            streams_per_subject=streams_per_subject, probe_interval=probe_interval,
                            on_reconnect=self.metrics.listener_reconnects.inc,
                            on_reread=self.metrics.event_rereads.inc,
                            on_dropped=lambda reason: self.metrics.notifications_dropped.labels(reason).inc())
        self.metrics.subscribers.set_function(lambda: self.hub.subscriber_count)
        self.catalog = Catalog([])
        self.openapi: dict[str, Any] = {}
        self._pool: asyncpg.Pool | None = None
        self._events_pool: asyncpg.Pool | None = None
        self._listener: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the gateway has not started")
        return self._pool

    @property
    def events_pool(self) -> asyncpg.Pool:
        if self._events_pool is None:
            raise RuntimeError("the gateway has not started")
        return self._events_pool

    async def start(self) -> None:
        """Open the pools, read the catalog, start listening."""
        cache = STATEMENT_CACHE_SIZE if self.prepared_statements else 0
        self._pool = await asyncpg.create_pool(
            self.database_url, min_size=1, max_size=self.pool_size, statement_cache_size=cache,
            reset=_reset_connection, server_settings={"application_name": "pgcredits-gateway"},
        )
        # /events re-reads on a pool of their own: however many events arrive, RPC calls never wait for them.
        self._events_pool = await asyncpg.create_pool(
            self.database_url, min_size=1, max_size=self.events_pool_size, statement_cache_size=cache,
            reset=_reset_connection, server_settings={"application_name": "pgcredits-gateway-events"},
        )
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(CATALOG_QUERY, list(ROLES), SCHEMA)
        self.catalog = parse_catalog(rows)
        if not self.catalog.functions:
            log.warning("schema %s has no functions: is the database migrated?", SCHEMA)
        for name in self.catalog.overloaded:
            log.warning("credits.%s is overloaded: the gateway does not expose it", name)
        self.openapi = build_openapi(self.catalog)
        self._listener = asyncio.create_task(self.hub.run(), name="pgcredits-listen")
        self._renewer = asyncio.create_task(self.hub.renew_watches(), name="pgcredits-renew-watches")

    async def stop(self) -> None:
        for task in (self._listener, self._renewer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.hub.close()
        if self._events_pool is not None:
            with contextlib.suppress(Exception):  # else the watches lapse by themselves
                await asyncio.wait_for(self._watch_events(None, False), timeout=2)
        for pool in (self._pool, self._events_pool):
            if pool is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(pool.close(), timeout=5)

    async def as_caller(self, identity: Identity, *, read_only: bool,
                        work: Callable[[asyncpg.Connection], Awaitable[T]], label: str,
                        pool: asyncpg.Pool | None = None, keep: Callable[[T], bool] | None = None) -> T:
        """`work` in one transaction as the caller, retried whole on 40001/40P01 and on a lost connection.

        `label` names the work in the retries metric (a function, or `/events`);
        `pool` is the RPC pool unless told. The transaction's statement_timeout
        is the caller role's. It commits unless `keep(result)` says no: then it
        rolls back, and the result is returned all the same.

        A lost connection is retried only while `work` has not been sent, or
        when the transaction is read-only: a write's outcome would be unknown.
        """
        attempt = 0
        while True:
            sent = False
            try:
                async with (pool or self.pool).acquire() as conn, conn.transaction(readonly=read_only):
                    await conn.execute(SET_CALLER, identity.role, identity.claims_json,
                                       self.statement_timeouts[identity.role])
                    sent = True
                    result = await work(conn)
                    if keep is not None and not keep(result):
                        raise _RollBack(result)
                    return result
            except _RollBack as rolled_back:
                return rolled_back.result  # type: ignore[no-any-return]
            except asyncpg.PostgresError as err:
                if isinstance(err, UNAVAILABLE_ERRORS):
                    if (sent and not read_only) or attempt >= self.retries:
                        raise _Unavailable(err, after_call=sent and not read_only) from err
                elif err.sqlstate not in RETRYABLE_SQLSTATES or attempt >= self.retries:
                    raise
            except UNAVAILABLE_ERRORS as err:
                if (sent and not read_only) or attempt >= self.retries:
                    raise _Unavailable(err, after_call=sent and not read_only) from err
            attempt += 1
            self.metrics.retries.labels(label).inc()
            await asyncio.sleep(0.05 * 2**attempt * (0.5 + random.random()))

    async def rpc(self, request: Request) -> Response:
        """POST, GET, HEAD or OPTIONS /rpc/{function}."""
        name = request.path_params["function"]
        function = self.catalog.get(name)
        started = time.perf_counter()
        try:
            response = await self._rpc(request, name, function)
        except HTTPError as err:
            response = err.response()
        except RequestError as err:
            response = HTTPError.of(err).response()
        except Exception:
            log.exception("unexpected error in %s /rpc/%s", request.method, name[:100])
            response = _internal_error().response()
        self.metrics.observe(function.name if function else UNKNOWN_FUNCTION, request.method,
                             response.status_code, time.perf_counter() - started)
        return response

    async def _rpc(self, request: Request, name: str, function: Function | None) -> Response:
        method = request.method
        if method == "OPTIONS":  # not a preflight (cors.CORS answers those): what may be sent here
            if function is None:
                raise _no_function(name)
            return Response(status_code=200, headers={"Allow": "OPTIONS, GET, HEAD, POST" if function.read_only
                                                      else "OPTIONS, POST"})
        if method not in ("GET", "HEAD", "POST"):
            raise HTTPError(405, "PGRST101", f"{method} is not allowed on functions: only GET and POST are",
                            headers={"Allow": "OPTIONS, GET, HEAD, POST"})
        identity = await self.identify(request)
        if function is None:
            raise _no_function(name)
        by_query = method in ("GET", "HEAD")  # HEAD is a GET without a body (SPEC §5a)
        if by_query and not function.read_only:
            raise HTTPError(405, "GW405", f"{function.name} changes data: call it with POST",
                            headers={"Allow": "POST"})
        if identity.role not in function.roles:
            raise HTTPError(403, "42501", f"permission denied for function {function.name}",
                            details=f"role {identity.role} may not execute it",
                            hint=f"may be called by: {', '.join(sorted(function.roles)) or 'no caller role'}")
        profile = request.headers.get("accept-profile" if by_query else "content-profile")
        if profile is not None and profile != SCHEMA:  # supabase.schema('credits') sends it; nothing else is served
            raise HTTPError(406, "PGRST106", f"The schema must be one of the following: {SCHEMA}",
                            details=f"the request asks for schema {echo(profile)}")
        prefer = parse_prefer(request.headers.getlist("prefer"))
        singular, strip_nulls = parse_accept(request.headers.get("accept"))
        parsed = parse_query(request.query_params.multi_items(), arguments=function.argument_names,
                             by_query=by_query)
        if by_query:
            values: dict[str, Any] = parsed.arguments
        else:
            values = _body_values(await _read_body(request))
            if prefer.single_object:
                values = _single_object(function, values)
            _fill_idempotency_key(function, values, _idempotency_key_header(request))
        offset, limit = combine_ranges(parsed.offset, parsed.limit,
                                       parse_range(request.headers.get("range")) if method == "GET" else None)
        shape = Shape(parsed.columns, tuple(parsed.filters), parsed.order, offset, limit, prefer.count, singular,
                      strip_nulls)
        try:
            statement, params = function.bind(values, from_query=by_query, shape=shape)
        except ArgumentError as err:
            if err.unknown:
                raise HTTPError(404, "PGRST202", str(err), hint="GET /openapi.json lists every function and "
                                "its parameters") from None
            raise HTTPError(400, "GW400", str(err)) from None

        def keep(row: asyncpg.Record) -> bool:
            return not prefer.rollback and _problem(shape, row) is None

        row = await self._call(identity, function, lambda conn: conn.fetchrow(statement, *params), keep=keep)
        problem = _problem(shape, row)
        if problem is not None:
            raise problem
        rows, total, body = row
        headers = {"Content-Range": _content_range(offset, rows, total)}
        if prefer.applied:
            headers["Preference-Applied"] = ", ".join(prefer.applied)
        status = 206 if total is not None and rows < total else 200
        if prefer.minimal:
            return Response(status_code=204, headers=headers)
        return Response(body if body is not None else "null", status_code=status, headers=headers,
                        media_type=OBJECT_TYPE if singular else JSON_TYPE)

    async def _call(self, identity: Identity, function: Function,
                    work: Callable[[asyncpg.Connection], Awaitable[T]], keep: Callable[[T], bool] | None = None) -> T:
        """`as_caller`, with every database failure turned into an HTTPError."""
        try:
            return await self.as_caller(identity, read_only=function.read_only, work=work, label=function.name,
                                        keep=keep)
        except asyncpg.PostgresError as err:
            raise _database_error(err, function.name, self.statement_timeouts[identity.role]) from None
        except _Unavailable as err:
            log.warning("database unavailable during %s: %s", function.name, err)
            hint = ("the call may have run: retry with the same Idempotency-Key" if err.after_call
                    else "retry later")
            raise HTTPError(503, "GW503", "the database is unavailable", hint=hint,
                            headers={"Retry-After": RETRY_AFTER_SECONDS}) from None

    async def identify(self, request: Request, *, query_token: bool = False) -> Identity:
        authorization = request.headers.get("authorization")
        if authorization is None and query_token and "access_token" in request.query_params:
            authorization = f"Bearer {request.query_params['access_token']}"  # EventSource sends no headers
        try:
            return await self.authenticator.identify(authorization)
        except AuthError as err:
            raise HTTPError(401, err.code, str(err), headers={"WWW-Authenticate": "Bearer"}) from None

    async def events(self, request: Request) -> Response:
        """GET /events: the SSE stream of the caller's own account (HEAD: GET's answer, no stream opened)."""
        try:
            identity = await self.identify(request, query_token=True)
            if identity.sub is None:
                raise HTTPError(403, "42501", "events are per account and the token names none",
                                hint="send a token with a sub claim")
            if request.method == "HEAD":
                if not self.hub.has_room(identity.sub):
                    raise _too_many_streams(self.hub.streams_per_subject)
                return Response(media_type="text/event-stream", headers=_SSE_HEADERS)
            try:
                subscriber = await self.hub.open(identity.sub, identity.sub)
            except TooManyStreams as err:
                self.metrics.streams_refused.inc()
                raise _too_many_streams(err.limit) from None
            except (_Unavailable, asyncpg.PostgresError) as err:
                log.warning("cannot open the event stream of %s: %s", identity.sub, err)
                raise HTTPError(503, "GW503", "the database is unavailable", hint="retry later",
                                headers={"Retry-After": RETRY_AFTER_SECONDS}) from None
        except HTTPError as err:
            return err.response()
        return _EventStream(subscriber, stream(subscriber, heartbeat=self.heartbeat, expires_at=identity.expires_at,
                                               disconnected=request.is_disconnected))

    async def _reread_event(self, account_id: str, seq: int) -> tuple[str, str] | None:
        """Event `seq` of `account_id` as its own user reads it: (kind, JSON row), or None."""
        row = await self.as_caller(_owner(account_id), read_only=True, pool=self.events_pool, label="/events",
                                   work=lambda conn: conn.fetchrow(REREAD_EVENT, account_id, str(seq)))
        return None if row is None else (row[0], row[1])

    async def _watch_events(self, account_ids: list[str] | None, watching: bool) -> None:
        """Tell the database this process streams (or no longer streams) these accounts' events (None: all)."""
        if watching:
            await self.as_caller(_WATCHER, read_only=False, pool=self.events_pool, label="/events",
                                 work=lambda conn: conn.fetchval(WATCH_EVENTS, self.watcher, account_ids, WATCH_TTL))
        else:
            await self.as_caller(_WATCHER, read_only=False, pool=self.events_pool, label="/events",
                                 work=lambda conn: conn.fetchval(UNWATCH_EVENTS, self.watcher, account_ids))

    async def _events_watermark(self, account_id: str) -> int:
        """The last event of `account_id` so far: its new stream is never sent it, nor any before it."""
        value = await self.as_caller(_owner(account_id), read_only=True, pool=self.events_pool, label="/events",
                                     work=lambda conn: conn.fetchval(EVENTS_WATERMARK, account_id))
        return int(value)

    async def ready(self, _request: Request) -> Response:
        """GET /ready: 200 when the database answers, else 503 (why only in the log: it names hosts)."""
        try:
            async with asyncio.timeout(3):
                async with self.pool.acquire() as conn:
                    await conn.fetchval("select 1")
        except (*UNAVAILABLE_ERRORS, asyncpg.PostgresError) as err:
            log.warning("not ready: the database does not answer: %s", err)
            return JSONResponse({"status": "unavailable"}, status_code=503,
                                headers={"Retry-After": RETRY_AFTER_SECONDS})
        return JSONResponse({"status": "ready", "listening": self.hub.connected.is_set()})


_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class _EventStream(StreamingResponse):
    """An SSE response that gives its subscriber's place back however it ends, even when never sent."""

    def __init__(self, subscriber: Subscriber, content: AsyncIterator[str]) -> None:
        super().__init__(content, media_type="text/event-stream", headers=_SSE_HEADERS)
        self._subscriber = subscriber

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._subscriber.close()


# The identity that says what this process watches: a backend, since only backends may (credits.watch_events).
_WATCHER = Identity(role="credits_service", sub=None, claims={})


def _owner(account_id: str) -> Identity:
    """The least privileged caller who sees every event of `account_id`: its own user (docs/decisions.md)."""
    return Identity(role=DEFAULT_ROLE, sub=account_id, claims={"sub": account_id})


def _too_many_streams(limit: int) -> HTTPError:
    return HTTPError(429, "GW429", f"this token's subject already has {limit} open event streams, the most allowed",
                     hint="close a stream before opening another", headers={"Retry-After": RETRY_AFTER_SECONDS})


def create_app(database_url: str, *, jwt_secret: str | None = None, jwks_url: str | None = None,
               jwt_audience: str | None = None, jwt_require_exp: bool | None = None, retries: int = 3,
               heartbeat: float = 15.0, pool_size: int | None = None, events_pool_size: int | None = None,
               probe_interval: float = 2.0, listen_url: str | None = None, streams_per_subject: int | None = None,
               statement_timeout: str | None = None, service_statement_timeout: str | None = None,
               role_map_text: str | None = None, cors_origins: str | None = None,
               prepared_statements: bool | None = None, dev: bool | None = None) -> Starlette:
    """The gateway app for `database_url` (its login role must be able to SET ROLE to the four roles).

    The JWT secret, JWKS URL and audience default to PGCREDITS_JWT_SECRET,
    PGCREDITS_JWKS_URL and PGCREDITS_JWT_AUDIENCE; `jwt_require_exp` to
    PGCREDITS_JWT_REQUIRE_EXP (refuse tokens without `exp`). `retries`: how
    many times a transaction failing with 40001/40P01 is retried before 503.
    `heartbeat`: seconds between SSE comments on a quiet stream. `listen_url`
    (default PGCREDITS_LISTEN_URL, else `database_url`): where the one LISTEN
    connection of /events goes; behind PgBouncer in transaction mode, which
    cannot carry LISTEN, point it at PostgreSQL itself. `pool_size`
    (PGCREDITS_POOL_SIZE, 10): connections of RPC calls; `events_pool_size`
    (PGCREDITS_EVENTS_POOL_SIZE, 2): connections for /events' re-reads, apart
    from those. `streams_per_subject`
    (PGCREDITS_STREAMS_PER_SUBJECT, 10): open /events streams per token
    subject. `statement_timeout` (PGCREDITS_STATEMENT_TIMEOUT, 5s) for
    credits_user and `service_statement_timeout`
    (PGCREDITS_SERVICE_STATEMENT_TIMEOUT, 60s) for the other roles:
    PostgreSQL durations, 0 for none. `role_map_text` (PGCREDITS_ROLE_MAP):
    `claim=role,...` beyond the four roles and Supabase's two.
    `cors_origins` (PGCREDITS_CORS_ORIGINS, `*`): the origins browsers may
    call from. `prepared_statements` (PGCREDITS_PREPARED_STATEMENTS, on): keep
    statements prepared on each connection; turn it off (0) behind a
    transaction pooler such as PgBouncer in transaction mode. `dev` (PGCREDITS_DEV, off):
    serve the widget's demo (/demo, docs/widget.md); never in production.
    """
    from pgcredits.gateway.widget import widget_routes  # widget.py imports this module

    if dev is None:
        dev = _env_flag("PGCREDITS_DEV")

    secret = jwt_secret or (None if jwks_url else os.environ.get("PGCREDITS_JWT_SECRET"))
    authenticator = Authenticator(
        secret=secret,
        jwks_url=jwks_url or (None if jwt_secret else os.environ.get("PGCREDITS_JWKS_URL")),
        audience=jwt_audience or os.environ.get("PGCREDITS_JWT_AUDIENCE"),
        require_exp=_env_flag("PGCREDITS_JWT_REQUIRE_EXP") if jwt_require_exp is None else jwt_require_exp,
        roles=role_map(role_map_text if role_map_text is not None else os.environ.get("PGCREDITS_ROLE_MAP")),
    )
    origins = parse_origins(cors_origins if cors_origins is not None else os.environ.get("PGCREDITS_CORS_ORIGINS"))
    user_timeout = _duration("PGCREDITS_STATEMENT_TIMEOUT", statement_timeout, USER_STATEMENT_TIMEOUT)
    service_timeout = _duration("PGCREDITS_SERVICE_STATEMENT_TIMEOUT", service_statement_timeout,
                                SERVICE_STATEMENT_TIMEOUT)
    if streams_per_subject is None:
        streams_per_subject = _env_count("PGCREDITS_STREAMS_PER_SUBJECT", STREAMS_PER_SUBJECT)
    if pool_size is None:
        pool_size = _env_count("PGCREDITS_POOL_SIZE", POOL_SIZE)
    if events_pool_size is None:
        events_pool_size = _env_count("PGCREDITS_EVENTS_POOL_SIZE", EVENTS_POOL_SIZE)
    if prepared_statements is None:
        prepared_statements = _env_flag("PGCREDITS_PREPARED_STATEMENTS", default=True)
    gateway = Gateway(database_url, authenticator, retries=retries, heartbeat=heartbeat, pool_size=pool_size,
                      events_pool_size=events_pool_size, probe_interval=probe_interval,
                      streams_per_subject=streams_per_subject,
                      statement_timeouts={role: user_timeout if role == DEFAULT_ROLE else service_timeout
                                          for role in ROLES},
                      listen_url=listen_url or os.environ.get("PGCREDITS_LISTEN_URL"),
                      prepared_statements=prepared_statements)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    async def openapi(_request: Request) -> Response:
        return JSONResponse(gateway.openapi)

    async def live(_request: Request) -> Response:
        return JSONResponse({"status": "live"})

    async def metrics(_request: Request) -> Response:
        return Response(gateway.metrics.exposition(), media_type=gateway.metrics.content_type)

    async def not_found(request: Request, _exc: Exception) -> Response:
        return HTTPError(404, "GW404", f"there is nothing at {echo(request.url.path)}",
                         hint="functions are at /rpc/{function}; GET /openapi.json lists them").response()

    async def not_allowed(request: Request, _exc: Exception) -> Response:
        return HTTPError(405, "GW405", f"{request.method} is not allowed on {echo(request.url.path)}",
                         headers={"Allow": "GET, HEAD"}).response()

    app = Starlette(
        routes=[
            Route("/rpc/{function}", gateway.rpc, methods=RPC_METHODS),
            # Where supabase-js looks for PostgREST: createClient(url, key) calls url + /rest/v1/rpc/{function}.
            Route("/rest/v1/rpc/{function}", gateway.rpc, methods=RPC_METHODS),
            Route("/events", gateway.events, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/live", live, methods=["GET"]),
            Route("/ready", gateway.ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *widget_routes(gateway, dev=dev, secret=secret),
        ],
        middleware=[Middleware(CORS, origins=origins)],
        exception_handlers={404: not_found, 405: not_allowed},
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    return app


def app_from_environment() -> Starlette:
    """The app of one worker of `pgcredits serve --workers N`: every setting from the environment
    (DATABASE_URL and the PGCREDITS_* of docs/gateway.md), as the serving process left it."""
    return create_app(os.environ["DATABASE_URL"])


def serve(database_url: str, host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1,
          access_log: bool = False, **options: Any) -> None:
    """Serve the gateway with uvicorn in the foreground until interrupted; `options` go to create_app.

    With `workers` above 1, that many processes serve the port (gateway.workers:
    each its own socket, pools and LISTEN connection); they read their
    settings from the environment, so `options` must then be none (set the
    PGCREDITS_* variables instead).
    """
    if workers > 1:
        from pgcredits.gateway.workers import serve_workers

        if options:
            raise ValueError(f"with several workers, give {', '.join(options)} as PGCREDITS_* settings")
        create_app(database_url)  # every setting checked here, before any worker starts
        os.environ["DATABASE_URL"] = database_url
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        serve_workers(host, port, workers, access_log=access_log)
        return
    run(create_app(database_url, **options), host, port, access_log=access_log)


def run(app: Starlette, host: str, port: int, *, access_log: bool = False) -> None:
    """Serve an app of create_app with uvicorn in the foreground until interrupted."""
    _uvicorn(app, host, port, workers=1, access_log=access_log)


def _uvicorn(app: Starlette, host: str, port: int, *, workers: int, access_log: bool) -> None:
    """uvicorn on uvloop and httptools (the dependencies bring them), with a line per request only if asked."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=3, log_level="info", access_log=access_log,
                loop="uvloop", http="httptools", workers=workers, backlog=4096)


def _env_flag(name: str, *, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} must be 1 or 0, not {value!r}")


def _env_count(name: str, default: int) -> int:
    value = os.environ.get(name, str(default)).strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of 1 or more, not {value!r}")
    return int(value)


def _duration(name: str, given: str | None, default: str) -> str:
    """A statement_timeout from `given`, else the environment variable `name`, else `default`; checked here."""
    value = (given if given is not None else os.environ.get(name, default)).strip()
    if not _DURATION.fullmatch(value):
        raise ValueError(f"{name} must be a PostgreSQL duration such as 5s, 500ms or 0 (none), not {value!r}")
    return value


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) on its Content-Length, or as soon as what arrives passes MAX_BODY_BYTES.

    The answer closes the connection: the rest of the body is never read.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large(f"the body has {declared} bytes (Content-Length), more than {MAX_BODY_BYTES}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large(f"the body has more than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(message: str) -> HTTPError:
    return HTTPError(413, "GW413", message, hint=f"send at most {MAX_BODY_BYTES} bytes",
                     headers={"Connection": "close"})


def _body_values(body: bytes) -> dict[str, Any]:
    """The parameters of a POST body: a JSON object in UTF-8, nested at most MAX_JSON_DEPTH deep, numbers exact."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise HTTPError(400, "PGRST102", f"the body is not UTF-8: {err.reason} at byte {err.start}",
                        hint="send JSON in UTF-8") from None
    if not text.strip():
        return {}
    try:
        check_depth(text, MAX_JSON_DEPTH + 1)  # the body's object, then each parameter's value
    except TooDeep as err:
        raise HTTPError(400, "GW400", depth_message(err.member)) from None
    try:
        values = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except ValueError as err:
        raise HTTPError(400, "PGRST102", f"malformed JSON body: {err}",
                        hint="send a JSON object whose keys are parameter names") from None
    if not isinstance(values, dict):
        raise HTTPError(400, "PGRST102", f"the body must be a JSON object of parameters, not {type(values).__name__}",
                        hint="send a JSON object whose keys are parameter names")
    return values


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _single_object(function: Function, body: dict[str, Any]) -> dict[str, Any]:
    """`Prefer: params=single-object`: the whole body is the value of the function's one json or jsonb parameter."""
    if len(function.arguments) != 1 or function.arguments[0].type not in _JSON_TYPES:
        raise HTTPError(404, "PGRST202", f"{function.name} has no single json or jsonb parameter to take the body "
                        "(Prefer: params=single-object)", hint="send the parameters as the keys of the body, "
                        "without params=single-object")
    return {function.arguments[0].name: body}


def _no_function(name: str) -> HTTPError:
    return HTTPError(404, "PGRST202", f"Could not find the function {SCHEMA}.{echo(name)} in the schema cache",
                     hint="GET /openapi.json lists the functions")


def _problem(shape: Shape, row: asyncpg.Record) -> HTTPError | None:
    """What makes a call's answer an error, whose transaction is rolled back: a .single() that got other than one
    row (406 PGRST116), an offset past the counted rows (416 PGRST103)."""
    rows, total = row[0], row[1]
    if shape.singular and rows != 1:
        return HTTPError(406, "PGRST116", "JSON object requested, multiple (or no) rows returned",
                         details=f"The result contains {rows} rows",
                         hint="nothing was changed (the call was rolled back)")
    if total is not None and shape.offset > total:
        return HTTPError(416, "PGRST103", "Requested range not satisfiable",
                         details=f"An offset of {shape.offset} was requested, but there are only {total} rows.",
                         headers={"Content-Range": f"*/{total}"})
    return None


def _content_range(offset: int, rows: int, total: int | None) -> str:
    """PostgREST's Content-Range: `first-last/total` (`*` when not counted), `*/total` for no rows."""
    counted = "*" if total is None else str(total)
    if rows > 0 and total != 0:
        return f"{offset}-{offset + rows - 1}/{counted}"
    return f"*/{counted}"


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool: nothing, unless a transaction was left open.

    Everything a request sets is transaction-local, so asyncpg's default reset
    (`RESET ALL`, `UNLISTEN *`, ... : one more round trip per request) has
    nothing to undo; a connection still in a transaction (a cancelled request)
    gets asyncpg's full reset, which rolls it back.
    """
    if conn.is_in_transaction():
        await conn.reset()


def _idempotency_key_header(request: Request) -> str | None:
    """The one `Idempotency-Key` header, in printable ASCII; two of them, or other bytes, are a 400.

    Bytes outside ASCII are refused rather than guessed at: read as latin-1
    (as HTTP headers are), the same key sent in the body would be another.
    """
    values = [value for name, value in request.headers.raw if name.lower() == b"idempotency-key"]
    if not values:
        return None
    if len(values) > 1:
        raise HTTPError(400, "GW400", f"the Idempotency-Key header is given {len(values)} times",
                        hint="send it once")
    if not _IDEMPOTENCY_KEY_HEADER.fullmatch(values[0]):
        raise HTTPError(400, "GW400", "the Idempotency-Key header must be printable ASCII (bytes 0x20 to 0x7E)",
                        hint="send a key with other characters as the body's idempotency_key")
    return values[0].decode("ascii")


def _fill_idempotency_key(function: Function, values: dict[str, Any], header: str | None) -> None:
    """`Idempotency-Key` fills `idempotency_key` where the function takes one."""
    if header is None or function.argument("idempotency_key") is None:
        return
    if values.get("idempotency_key", header) != header:
        raise HTTPError(400, "GW400", "the Idempotency-Key header and the body's idempotency_key differ",
                        hint="send the key once")
    values["idempotency_key"] = header


def _database_error(err: asyncpg.PostgresError, function: str, statement_timeout: str) -> HTTPError:
    """The HTTP answer to an error PostgreSQL raised (SPEC §2); internals only in the log.

    PostgreSQL's message, detail and hint are cut at MAX_DATABASE_TEXT_CHARS:
    they may quote a value the request sent.
    """
    cls = error_class(err.sqlstate)
    if cls is RetryableConflict:
        return HTTPError(503, err.sqlstate, "the transaction kept conflicting with others (serialization "
                         "failure or deadlock) and was given up after retries", hint="retry later",
                         headers={"Retry-After": RETRY_AFTER_SECONDS})
    if cls is StatementCanceled:
        why = (f"it ran longer than its statement_timeout of {statement_timeout}"
               if "statement timeout" in (err.message or "") else "it was cancelled")
        return HTTPError(cls.http_status, err.sqlstate, f"{function} was stopped: {why}",
                         hint="nothing was changed (its transaction rolled back): retry later")
    if cls.http_status >= 500:
        log.error("unexpected database error %s: %s (detail: %s)%s", err.sqlstate, err.message, err.detail,
                  " -- behind a transaction pooler (PgBouncer in transaction mode) set "
                  "PGCREDITS_PREPARED_STATEMENTS=0" if err.sqlstate == "26000" else "")
        return _internal_error()
    return HTTPError(cls.http_status, err.sqlstate, echo(err.message or str(err), MAX_DATABASE_TEXT_CHARS),
                     details=_capped(err.detail), hint=_capped(err.hint))


def _capped(text: str | None) -> str | None:
    return None if text is None else echo(text, MAX_DATABASE_TEXT_CHARS)


def _internal_error() -> HTTPError:
    return HTTPError(500, "GW500", "internal error", hint="the gateway's log says more")
