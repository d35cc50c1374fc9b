"""The HTTP gateway of SPEC §5: a small PostgREST for the functions of schema `credits`.

Per RPC request: verify the caller's JWT, find the function in the catalog read
at start-up, check its arguments against the catalog, then ONE transaction
(read-only for STABLE and IMMUTABLE functions) that sets the role and
`request.jwt.claims` transaction-locally and makes one named-argument call with
bound values. Everything transaction-local, no prepared statements kept: it
works behind PgBouncer in transaction mode. Errors come out as
`{code, message, details, hint}` with the statuses of pgcredits.errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from pgcredits.errors import RETRYABLE_SQLSTATES, RetryableConflict, StatementCanceled, error_class
from pgcredits.gateway.auth import DEFAULT_ROLE, Authenticator, AuthError, Identity
from pgcredits.gateway.catalog import CATALOG_QUERY, ROLES, SCHEMA, ArgumentError, Catalog, Function, parse_catalog
from pgcredits.gateway.cors import cors_middleware
from pgcredits.gateway.events import EventHub, Subscriber, TooManyStreams, stream
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

log = logging.getLogger("pgcredits.gateway")
T = TypeVar("T")

SET_CALLER = ("select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), "
              "set_config('statement_timeout', $3, true)")
REREAD_EVENT = ("select e.kind, to_json(e)::text from credits.events e "
                "where e.account_id = $1 and e.event_id = $2::text::bigint")
EVENTS_WATERMARK = "select coalesce(max(e.event_id), 0) from credits.events e where e.account_id = $1"
RETRY_AFTER_SECONDS = "1"
# Defaults of PGCREDITS_STATEMENT_TIMEOUT (credits_user) and PGCREDITS_SERVICE_STATEMENT_TIMEOUT (the others).
USER_STATEMENT_TIMEOUT = "5s"
SERVICE_STATEMENT_TIMEOUT = "60s"
STREAMS_PER_SUBJECT = 10
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


class _Unavailable(Exception):
    """The database could not be reached; `after_call` when the call may have run (its outcome is unknown)."""

    def __init__(self, cause: BaseException, *, after_call: bool) -> None:
        super().__init__(str(cause))
        self.after_call = after_call


class Gateway:
    """The state of one app: the pools, the catalog, the event hub, the metrics and how to authenticate."""

    def __init__(self, database_url: str, authenticator: Authenticator, *, retries: int, heartbeat: float,
                 pool_size: int, events_pool_size: int, probe_interval: float, streams_per_subject: int,
                 statement_timeouts: dict[str, str], listen_url: str | None = None) -> None:
        self.database_url = database_url
        self.authenticator = authenticator
        self.retries = retries
        self.heartbeat = heartbeat
        self.pool_size = pool_size
        self.events_pool_size = events_pool_size
        self.statement_timeouts = statement_timeouts
        self.metrics = Metrics()
        self.hub = EventHub(listen_url or database_url, reread=self._reread_event, watermark=self._events_watermark,
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
        self._pool = await asyncpg.create_pool(
            self.database_url, min_size=1, max_size=self.pool_size, statement_cache_size=0,
            server_settings={"application_name": "pgcredits-gateway"},
        )
        # /events re-reads on a pool of their own: however many events arrive, RPC calls never wait for them.
        self._events_pool = await asyncpg.create_pool(
            self.database_url, min_size=1, max_size=self.events_pool_size, statement_cache_size=0,
            server_settings={"application_name": "pgcredits-gateway-events"},
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

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self.hub.close()
        for pool in (self._pool, self._events_pool):
            if pool is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(pool.close(), timeout=5)

    async def as_caller(self, identity: Identity, *, read_only: bool,
                        work: Callable[[asyncpg.Connection], Awaitable[T]], label: str,
                        pool: asyncpg.Pool | None = None) -> T:
        """`work` in one transaction as the caller, retried whole on 40001/40P01 and on a lost connection.

        `label` names the work in the retries metric (a function, or `/events`);
        `pool` is the RPC pool unless told. The transaction's statement_timeout
        is the caller role's.

        A lost connection is retried only while `work` has not been sent, or
        when the transaction is read-only: a write's outcome would be unknown.
        """
        attempt = 0
        while True:
            sent = False
            try:
                async with (pool or self.pool).acquire() as conn, conn.transaction(readonly=read_only):
                    await conn.execute(SET_CALLER, identity.role, identity.claims_json(),
                                       self.statement_timeouts[identity.role])
                    sent = True
                    return await work(conn)
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
        """POST, GET or HEAD /rpc/{function}."""
        name = request.path_params["function"]
        function = self.catalog.get(name)
        started = time.perf_counter()
        try:
            response = await self._rpc(request, name, function)
        except HTTPError as err:
            response = err.response()
        except Exception:
            log.exception("unexpected error in %s /rpc/%s", request.method, name[:100])
            response = _internal_error().response()
        self.metrics.observe(function.name if function else UNKNOWN_FUNCTION, request.method,
                             response.status_code, time.perf_counter() - started)
        return response

    async def _rpc(self, request: Request, name: str, function: Function | None) -> Response:
        identity = await self.identify(request)
        if function is None:
            raise HTTPError(404, "GW404", f"there is no function {SCHEMA}.{echo(name)}",
                            hint="GET /openapi.json lists the functions")
        by_query = request.method in ("GET", "HEAD")  # HEAD is a GET without a body (SPEC §5a)
        if by_query and not function.read_only:
            raise HTTPError(405, "GW405", f"{function.name} changes data: call it with POST",
                            headers={"Allow": "POST"})
        if identity.role not in function.roles:
            raise HTTPError(403, "42501", f"permission denied for function {function.name}",
                            details=f"role {identity.role} may not execute it",
                            hint=f"may be called by: {', '.join(sorted(function.roles)) or 'no caller role'}")
        if by_query:
            values: dict[str, Any] = _query_values(request)
        else:
            values = _body_values(await _read_body(request))
            _fill_idempotency_key(function, values, _idempotency_key_header(request))
        try:
            statement, params = function.bind(values, from_query=by_query)
        except ArgumentError as err:
            raise HTTPError(400, "GW400", str(err)) from None
        result = await self._call(identity, function, lambda conn: conn.fetchval(statement, *params))
        return Response(result if result is not None else "null", media_type="application/json")

    async def _call(self, identity: Identity, function: Function,
                    work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`as_caller`, with every database failure turned into an HTTPError."""
        try:
            return await self.as_caller(identity, read_only=function.read_only, work=work, label=function.name)
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
            raise HTTPError(401, "GW401", str(err), headers={"WWW-Authenticate": "Bearer"}) from None

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


def _owner(account_id: str) -> Identity:
    """The least privileged caller who sees every event of `account_id`: its own user (docs/decisions.md)."""
    return Identity(role=DEFAULT_ROLE, sub=account_id, claims={"sub": account_id})


def _too_many_streams(limit: int) -> HTTPError:
    return HTTPError(429, "GW429", f"this token's subject already has {limit} open event streams, the most allowed",
                     hint="close a stream before opening another", headers={"Retry-After": RETRY_AFTER_SECONDS})


def create_app(database_url: str, *, jwt_secret: str | None = None, jwks_url: str | None = None,
               jwt_audience: str | None = None, jwt_require_exp: bool | None = None, retries: int = 3,
               heartbeat: float = 15.0, pool_size: int = 10, events_pool_size: int = 2, probe_interval: float = 2.0,
               listen_url: str | None = None, streams_per_subject: int | None = None,
               statement_timeout: str | None = None, service_statement_timeout: str | None = None,
               dev: bool = False) -> Starlette:
    """The gateway app for `database_url` (its login role must be able to SET ROLE to the four roles).

    The JWT secret, JWKS URL and audience default to PGCREDITS_JWT_SECRET,
    PGCREDITS_JWKS_URL and PGCREDITS_JWT_AUDIENCE; `jwt_require_exp` to
    PGCREDITS_JWT_REQUIRE_EXP (refuse tokens without `exp`). `retries`: how
    many times a transaction failing with 40001/40P01 is retried before 503.
    `heartbeat`: seconds between SSE comments on a quiet stream. `listen_url`
    (default PGCREDITS_LISTEN_URL, else `database_url`): where the one LISTEN
    connection of /events goes; behind PgBouncer in transaction mode, which
    cannot carry LISTEN, point it at PostgreSQL itself. `events_pool_size`:
    connections for /events' re-reads, apart from the `pool_size` of RPC
    calls. `streams_per_subject` (PGCREDITS_STREAMS_PER_SUBJECT, 10): open
    /events streams per token subject. `statement_timeout`
    (PGCREDITS_STATEMENT_TIMEOUT, 5s) for credits_user and
    `service_statement_timeout` (PGCREDITS_SERVICE_STATEMENT_TIMEOUT, 60s)
    for the other roles: PostgreSQL durations, 0 for none. `dev`: serve the widget's demo
    (/demo, docs/widget.md); never in production.
    """
    from pgcredits.gateway.widget import widget_routes  # widget.py imports this module

    secret = jwt_secret or (None if jwks_url else os.environ.get("PGCREDITS_JWT_SECRET"))
    authenticator = Authenticator(
        secret=secret,
        jwks_url=jwks_url or (None if jwt_secret else os.environ.get("PGCREDITS_JWKS_URL")),
        audience=jwt_audience or os.environ.get("PGCREDITS_JWT_AUDIENCE"),
        require_exp=_env_flag("PGCREDITS_JWT_REQUIRE_EXP") if jwt_require_exp is None else jwt_require_exp,
    )
    user_timeout = _duration("PGCREDITS_STATEMENT_TIMEOUT", statement_timeout, USER_STATEMENT_TIMEOUT)
    service_timeout = _duration("PGCREDITS_SERVICE_STATEMENT_TIMEOUT", service_statement_timeout,
                                SERVICE_STATEMENT_TIMEOUT)
    if streams_per_subject is None:
        streams_per_subject = _env_count("PGCREDITS_STREAMS_PER_SUBJECT", STREAMS_PER_SUBJECT)
    gateway = Gateway(database_url, authenticator, retries=retries, heartbeat=heartbeat, pool_size=pool_size,
                      events_pool_size=events_pool_size, probe_interval=probe_interval,
                      streams_per_subject=streams_per_subject,
                      statement_timeouts={role: user_timeout if role == DEFAULT_ROLE else service_timeout
                                          for role in ROLES},
                      listen_url=listen_url or os.environ.get("PGCREDITS_LISTEN_URL"))

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

    app = Starlette(
        routes=[
            Route("/rpc/{function}", gateway.rpc, methods=["GET", "POST"]),
            Route("/events", gateway.events, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/live", live, methods=["GET"]),
            Route("/ready", gateway.ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *widget_routes(gateway, dev=dev, secret=secret),
        ],
        middleware=[cors_middleware()],
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    return app


def serve(database_url: str, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Serve the gateway with uvicorn in the foreground until interrupted; `options` go to create_app."""
    run(create_app(database_url, **options), host, port)


def run(app: Starlette, host: str, port: int) -> None:
    """Serve an app of create_app with uvicorn in the foreground until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=3, log_level="info")


def _env_flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
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
        raise HTTPError(400, "GW400", f"the body is not UTF-8: {err.reason} at byte {err.start}",
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
        raise HTTPError(400, "GW400", f"malformed JSON body: {err}",
                        hint="send a JSON object whose keys are parameter names") from None
    if not isinstance(values, dict):
        raise HTTPError(400, "GW400", f"the body must be a JSON object of parameters, not {type(values).__name__}",
                        hint="send a JSON object whose keys are parameter names")
    return values


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _query_values(request: Request) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in values:
            raise HTTPError(400, "GW400", f"parameter {echo(key)} is given twice")
        values[key] = value
    return values


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
        log.error("unexpected database error %s: %s (detail: %s)", err.sqlstate, err.message, err.detail)
        return _internal_error()
    return HTTPError(cls.http_status, err.sqlstate, echo(err.message or str(err), MAX_DATABASE_TEXT_CHARS),
                     details=_capped(err.detail), hint=_capped(err.hint))


def _capped(text: str | None) -> str | None:
    return None if text is None else echo(text, MAX_DATABASE_TEXT_CHARS)


def _internal_error() -> HTTPError:
    return HTTPError(500, "GW500", "internal error", hint="the gateway's log says more")
