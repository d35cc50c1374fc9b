"""The browser widget as the gateway serves it (docs/widget.md).

- `GET /widget/pgcredits.js`, always: the ES module, cacheable (ETag and
  max-age), importable from a page on any origin (a module script is fetched
  with CORS).
- Only with `dev=True` (`pgcredits serve --dev`, and `pgcredits up`): the demo.
  `GET /demo` is the page; `POST /demo/token` mints a short-lived token for
  the sample account (opening it when missing); `POST /demo/purchase` is
  what a payment backend would do once paid: `purchase_credits` as
  credits_service, for the account of the caller's own token. Without the
  flag these routes do not exist (404).

The stream takes its token as `?access_token=` on /events (app.py), since
EventSource cannot send an Authorization header; `RedactAccessTokens` keeps
it out of uvicorn's access log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pgcredits.gateway.app import Gateway, HTTPError, _body_values
from pgcredits.gateway.auth import Identity

STATIC = Path(__file__).with_name("static")
DEMO_ACCOUNT = "demo_user"  # the sample account of `pgcredits up` (gateway/local.py prints its token)
DEMO_TOKEN_SECONDS = 3600
DEMO_PACKS = (10, 50)  # credits a demo purchase may buy
DEMO_BACKEND = Identity(role="credits_service", sub="pgcredits-demo", claims={"sub": "pgcredits-demo"})
SCRIPT_CACHE = "public, max-age=3600"  # an hour, then revalidated by ETag


@dataclass(frozen=True)
class Asset:
    """A static file, read once, answered with an ETag (304 when the browser has it)."""

    body: bytes
    media_type: str
    etag: str

    @classmethod
    def load(cls, name: str, media_type: str) -> Asset:
        body = (STATIC / name).read_bytes()
        return cls(body, media_type, f'"{hashlib.sha256(body).hexdigest()[:24]}"')

    def response(self, request: Request, headers: dict[str, str]) -> Response:
        headers = {"ETag": self.etag, "X-Content-Type-Options": "nosniff", **headers}
        seen = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
        if self.etag in seen or "*" in seen:
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def widget_routes(gateway: Gateway, *, dev: bool, secret: str | None) -> list[Route]:
    """The routes of the widget, and with `dev` those of the demo (which mints tokens with `secret`)."""
    redact_access_log()
    script = Asset.load("pgcredits.js", "text/javascript; charset=utf-8")

    async def widget_js(request: Request) -> Response:
        return script.response(request, {"Cache-Control": SCRIPT_CACHE, "Access-Control-Allow-Origin": "*"})

    routes = [Route("/widget/pgcredits.js", widget_js, methods=["GET"])]
    if not dev:
        return routes
    if not secret:
        raise ValueError("the demo (dev=True) mints its tokens with the HS256 secret PGCREDITS_JWT_SECRET; "
                         "it cannot with PGCREDITS_JWKS_URL")
    demo = Demo(gateway, secret, Asset.load("demo.html", "text/html; charset=utf-8"))
    return [*routes,
            Route("/demo", demo.page, methods=["GET"]),
            Route("/demo/token", demo.token, methods=["POST"]),
            Route("/demo/purchase", demo.purchase, methods=["POST"])]


class Demo:
    """The dev-only endpoints of the demo page."""

    def __init__(self, gateway: Gateway, secret: str, page: Asset) -> None:
        self.gateway = gateway
        self.secret = secret
        self._page = page

    async def page(self, request: Request) -> Response:
        return self._page.response(request, {"Cache-Control": "no-cache"})

    async def token(self, _request: Request) -> Response:
        """A credits_user token for the sample account, which is opened (free plan) when missing."""
        try:
            await self._as_backend("open_account", {"account_id": DEMO_ACCOUNT})
        except HTTPError as err:
            return err.response()
        expires = int(time.time()) + DEMO_TOKEN_SECONDS
        token = jwt.encode({"sub": DEMO_ACCOUNT, "role": "credits_user", "exp": expires}, self.secret,
                           algorithm="HS256")
        return JSONResponse({"token": token, "account_id": DEMO_ACCOUNT, "expires_at": expires},
                            headers={"Cache-Control": "no-store"})

    async def purchase(self, request: Request) -> Response:
        """`{"credits": 10}`: buys a pack for the caller's own account, as a payment backend would once paid.

        The account is the token's `sub`, never a value of the body. The
        `Idempotency-Key` header, when sent, makes the payment reference:
        a retry buys once.
        """
        try:
            identity = await self.gateway.identify(request)
            if identity.role != "credits_user" or identity.sub is None:
                raise HTTPError(403, "42501", "a demo purchase is made for a user's own account",
                                hint="send the demo's token (POST /demo/token)")
            values = _body_values(await request.body())
            pack = values.get("credits")
            if set(values) != {"credits"} or type(pack) is not int or pack not in DEMO_PACKS:
                raise HTTPError(400, "PGRST102", f"send {{\"credits\": n}} with n one of "
                                f"{', '.join(map(str, DEMO_PACKS))}, not {json.dumps(values, default=str)[:100]}",
                                hint="the demo sells packs of fixed sizes")
            key = request.headers.get("idempotency-key") or uuid.uuid4().hex
            result = await self._as_backend("purchase_credits", {
                "account_id": identity.sub, "amount": pack, "payment_ref": f"demo:{key}"})
        except HTTPError as err:
            return err.response()
        return Response(result, media_type="application/json")

    async def _as_backend(self, name: str, values: dict[str, Any]) -> str:
        """Calls credits.`name` as the demo's backend (credits_service), the way an RPC is called."""
        function = self.gateway.catalog.get(name)
        if function is None:
            raise HTTPError(404, "GW404", f"there is no function credits.{name}: is the database migrated?")
        statement, params = function.bind(values)
        row = await self.gateway._call(DEMO_BACKEND, function, lambda conn: conn.fetchrow(statement, *params))
        _rows, _total, body = row
        return str(body)


class RedactAccessTokens(logging.Filter):
    """Replaces the value of `access_token=` in log records (uvicorn's access log prints the query string)."""

    PATTERN = re.compile(r"(access_token=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.PATTERN.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                                for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = self.PATTERN.sub(r"\1[redacted]", record.msg)
        return True


def redact_access_log() -> None:
    """Installs RedactAccessTokens on uvicorn's access logger, once."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessTokens) for f in logger.filters):
        logger.addFilter(RedactAccessTokens())
