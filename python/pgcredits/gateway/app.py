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

from pgcredits.errors import RETRYABLE_SQLSTATES, RetryableConflict, error_class
from pgcredits.gateway.auth import Authenticator, AuthError, Identity
from pgcredits.gateway.catalog import CATALOG_QUERY, ROLES, SCHEMA, ArgumentError, Catalog, Function, parse_catalog
from pgcredits.gateway.cors import cors_middleware
from pgcredits.gateway.events import EventHub, stream
from pgcredits.gateway.metrics import UNKNOWN_FUNCTION, Metrics
from pgcredits.gateway.openapi import build_openapi

log = logging.getLogger("pgcredits.gateway")
T = TypeVar("T")

SET_CALLER = "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)"
REREAD_EVENT = "select to_json(e)::text from credits.events e where e.event_id = $1::text::bigint"
RETRY_AFTER_SECONDS = "1"
MAX_BODY_BYTES = 1_000_000
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
    """The state of one app: the pool, the catalog, the event hub, the metrics and how to authenticate."""

    def __init__(self, database_url: str, authenticator: Authenticator, *, retries: int, heartbeat: float,
                 pool_size: int, probe_interval: float, listen_url: str | None = None) -> None:
        self.database_url = database_url
        self.authenticator = authenticator
        self.retries = retries
        self.heartbeat = heartbeat
        self.pool_size = pool_size
        self.metrics = Metrics()
        self.hub = EventHub(listen_url or database_url, probe_interval=probe_interval,
                            on_reconnect=self.metrics.listener_reconnects.inc)
        self.catalog = Catalog([])
        self.openapi: dict[str, Any] = {}
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncio.Task[None] | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the gateway has not started")
        return self._pool

    async def start(self) -> None:
        """Open the pool, read the catalog, start listening."""
        self._pool = await asyncpg.create_pool(
            self.database_url, min_size=1, max_size=self.pool_size, statement_cache_size=0,
            server_settings={"application_name": "pgcredits-gateway"},
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
        if self._pool is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._pool.close(), timeout=5)

    async def as_caller(self, identity: Identity, *, read_only: bool,
                        work: Callable[[asyncpg.Connection], Awaitable[T]], label: str) -> T:
        """`work` in one transaction as the caller, retried whole on 40001/40P01 and on a lost connection.

        `label` names the work in the retries metric (a function, or `/events`).

        A lost connection is retried only while `work` has not been sent, or
        when the transaction is read-only: a write's outcome would be unknown.
        """
        attempt = 0
        while True:
            sent = False
            try:
                async with self.pool.acquire() as conn, conn.transaction(readonly=read_only):
                    await conn.execute(SET_CALLER, identity.role, identity.claims_json())
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
        """POST or GET /rpc/{function}."""
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
            raise HTTPError(404, "GW404", f"there is no function {SCHEMA}.{name[:100]}",
                            hint="GET /openapi.json lists the functions")
        if request.method == "GET" and not function.read_only:
            raise HTTPError(405, "GW405", f"{function.name} changes data: call it with POST",
                            headers={"Allow": "POST"})
        if identity.role not in function.roles:
            raise HTTPError(403, "42501", f"permission denied for function {function.name}",
                            details=f"role {identity.role} may not execute it",
                            hint=f"may be called by: {', '.join(sorted(function.roles)) or 'no caller role'}")
        if request.method == "GET":
            values: dict[str, Any] = _query_values(request)
        else:
            values = _body_values(await request.body())
            _fill_idempotency_key(function, values, request.headers.get("idempotency-key"))
        try:
            statement, params = function.bind(values, from_query=request.method == "GET")
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
            raise _database_error(err) from None
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
        """GET /events: the SSE stream of the caller's own account."""
        try:
            identity = await self.identify(request, query_token=True)
            if identity.sub is None:
                raise HTTPError(403, "42501", "events are per account and the token names none",
                                hint="send a token with a sub claim")
        except HTTPError as err:
            return err.response()

        async def reread(caller: Identity, seq: int) -> str | None:
            return await self.as_caller(caller, read_only=True,
                                        work=lambda conn: conn.fetchval(REREAD_EVENT, str(seq)), label="/events")

        async def counted() -> AsyncIterator[str]:
            self.metrics.subscribers.inc()
            try:
                async for chunk in stream(self.hub, identity, identity.sub or "", reread,
                                          heartbeat=self.heartbeat, disconnected=request.is_disconnected):
                    yield chunk
            finally:
                self.metrics.subscribers.dec()

        return StreamingResponse(counted(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def ready(self, _request: Request) -> Response:
        """GET /ready: 200 when the database answers, else 503."""
        try:
            async with asyncio.timeout(3):
                async with self.pool.acquire() as conn:
                    await conn.fetchval("select 1")
        except (*UNAVAILABLE_ERRORS, asyncpg.PostgresError) as err:
            return JSONResponse({"status": "unavailable", "database": str(err)[:200]}, status_code=503,
                                headers={"Retry-After": RETRY_AFTER_SECONDS})
        return JSONResponse({"status": "ready", "listening": self.hub.connected.is_set()})


def create_app(database_url: str, *, jwt_secret: str | None = None, jwks_url: str | None = None,
               jwt_audience: str | None = None, retries: int = 3, heartbeat: float = 15.0, pool_size: int = 10,
               probe_interval: float = 2.0, listen_url: str | None = None, dev: bool = False) -> Starlette:
    """The gateway app for `database_url` (its login role must be able to SET ROLE to the four roles).

    The JWT secret, JWKS URL and audience default to PGCREDITS_JWT_SECRET,
    PGCREDITS_JWKS_URL and PGCREDITS_JWT_AUDIENCE. `retries`: how many times a
    transaction failing with 40001/40P01 is retried before 503. `heartbeat`:
    seconds between SSE comments on a quiet stream. `listen_url` (default
    PGCREDITS_LISTEN_URL, else `database_url`): where the one LISTEN
    connection of /events goes; behind PgBouncer in transaction mode, which
    cannot carry LISTEN, point it at PostgreSQL itself. `dev`: serve the
    widget's demo (/demo, docs/widget.md); never in production.
    """
    from pgcredits.gateway.widget import widget_routes  # widget.py imports this module

    secret = jwt_secret or (None if jwks_url else os.environ.get("PGCREDITS_JWT_SECRET"))
    authenticator = Authenticator(
        secret=secret,
        jwks_url=jwks_url or (None if jwt_secret else os.environ.get("PGCREDITS_JWKS_URL")),
        audience=jwt_audience or os.environ.get("PGCREDITS_JWT_AUDIENCE"),
    )
    gateway = Gateway(database_url, authenticator, retries=retries, heartbeat=heartbeat, pool_size=pool_size,
                      probe_interval=probe_interval,
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(database_url, **options), host=host, port=port, timeout_graceful_shutdown=3,
                log_level="info")


def _body_values(body: bytes) -> dict[str, Any]:
    """The parameters of a POST body: a JSON object, numbers kept exact."""
    if len(body) > MAX_BODY_BYTES:
        raise HTTPError(413, "GW413", f"the body has {len(body)} bytes, more than {MAX_BODY_BYTES}")
    if not body.strip():
        return {}
    try:
        values = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as err:
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
            raise HTTPError(400, "GW400", f"parameter {key[:100]} is given twice")
        values[key] = value
    return values


def _fill_idempotency_key(function: Function, values: dict[str, Any], header: str | None) -> None:
    """`Idempotency-Key` fills `idempotency_key` where the function takes one."""
    if header is None or function.argument("idempotency_key") is None:
        return
    if values.get("idempotency_key", header) != header:
        raise HTTPError(400, "GW400", "the Idempotency-Key header and the body's idempotency_key differ",
                        hint="send the key once")
    values["idempotency_key"] = header


def _database_error(err: asyncpg.PostgresError) -> HTTPError:
    """The HTTP answer to an error PostgreSQL raised (SPEC §2); internals only in the log."""
    cls = error_class(err.sqlstate)
    if cls is RetryableConflict:
        return HTTPError(503, err.sqlstate, "the transaction kept conflicting with others (serialization "
                         "failure or deadlock) and was given up after retries", hint="retry later",
                         headers={"Retry-After": RETRY_AFTER_SECONDS})
    if cls.http_status >= 500:
        log.error("unexpected database error %s: %s (detail: %s)", err.sqlstate, err.message, err.detail)
        return _internal_error()
    return HTTPError(cls.http_status, err.sqlstate, err.message, details=err.detail, hint=err.hint)


def _internal_error() -> HTTPError:
    return HTTPError(500, "GW500", "internal error", hint="the gateway's log says more")
