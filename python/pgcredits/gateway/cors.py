"""CORS for the gateway (SPEC §5a): preflights answered, `Access-Control-*` headers on every answer.

Allowed origins come from `PGCREDITS_CORS_ORIGINS`: `*` (the default, as
PostgREST: any page may call, since every call carries its own bearer token
and no cookie is read), or a comma-separated list of origins
(`https://app.example.com,http://localhost:5173`), each echoed back only to
itself, with `Vary: Origin`.

A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is
answered here: 200 with the allowed methods, the headers the browser asked
for (PostgREST's way: postgrest-js sends `Prefer`, `Accept-Profile`,
`apikey`, `x-client-info`, ...) and `Access-Control-Max-Age: 86400`; from an
origin outside the list it is 403 with a JSON error naming the origin.
Every other answer gets `Access-Control-Allow-Origin` (when the origin is
allowed) and `Access-Control-Expose-Headers`, so that a page can read
`Content-Range`, `Preference-Applied` and `Retry-After`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pgcredits.gateway.limits import echo

ALLOWED_METHODS = "GET, POST, HEAD, OPTIONS"
EXPOSED_HEADERS = ("Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, Server, "
                   "Transfer-Encoding, Range-Unit, Preference-Applied, Retry-After, WWW-Authenticate")
MAX_AGE = "86400"
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s,]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_origins(text: str | None) -> frozenset[str] | None:
    """PGCREDITS_CORS_ORIGINS: None for `*` (any origin), else the origins; ValueError naming a bad one."""
    value = (text or "*").strip()
    if value == "*":
        return None
    origins = [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
    for origin in origins:
        if not _ORIGIN.fullmatch(origin.lower()):
            raise ValueError(f"PGCREDITS_CORS_ORIGINS is * or origins such as https://app.example.com, "
                             f"comma-separated, not {origin!r}")
    if not origins:
        raise ValueError("PGCREDITS_CORS_ORIGINS is empty: give * or at least one origin")
    return frozenset(origin.lower() for origin in origins)


class CORS:
    """ASGI middleware: `origins` None allows any origin (`*`), else exactly those."""

    def __init__(self, app: ASGIApp, origins: Iterable[str] | None) -> None:
        self.app = app
        self.origins = None if origins is None else frozenset(origins)

    def _allow(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        """The headers that let `origin` read the answer (none when it is not allowed)."""
        if self.origins is None:
            return [(b"access-control-allow-origin", b"*")]
        headers = [(b"vary", b"Origin")]
        if origin is not None and origin.lower() in self.origins:
            headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name: value for name, value in scope["headers"] if name in (b"origin", b"access-control-request-method",
                                                                            b"access-control-request-headers")}
        origin = headers[b"origin"].decode("latin-1") if b"origin" in headers else None
        if scope["method"] == "OPTIONS" and origin is not None and b"access-control-request-method" in headers:
            await self._preflight(origin, headers.get(b"access-control-request-headers", b""), send)
            return
        extra = [*self._allow(origin), (b"access-control-expose-headers", EXPOSED_HEADERS.encode())]

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                # An answer that says who may read it (the public widget module: anyone) keeps its word.
                own = {name.lower() for name, _ in headers}
                message = {**message, "headers": [*headers, *(h for h in extra if h[0] not in own)]}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, origin: str, requested: bytes, send: Send) -> None:
        allowed = self._allow(origin)
        if not any(name == b"access-control-allow-origin" for name, _ in allowed):
            body = json.dumps({"code": "GW403", "message": f"origin {echo(origin)} may not call this gateway",
                               "details": None, "hint": "add it to PGCREDITS_CORS_ORIGINS"}).encode()
            await send({"type": "http.response.start", "status": 403,
                        "headers": [*allowed, (b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        names = [name.strip() for name in requested.decode("latin-1").split(",") if name.strip()]
        asked = ", ".join(["Authorization", *(name for name in names if _HEADER_NAME.fullmatch(name))])
        await send({"type": "http.response.start", "status": 200, "headers": [
            *allowed,
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", asked.encode("latin-1")),
            (b"access-control-max-age", MAX_AGE.encode()),
            (b"content-length", b"0"),
        ]})
        await send({"type": "http.response.body", "body": b""})
