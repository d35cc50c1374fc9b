"""The browser widget as the gateway serves it (docs/widget.md).

- `GET /widget/pgcredits.js`, always: the ES module, cacheable (ETag and
  max-age), importable from a page on any origin (a module script is fetched
  with CORS).
- Only with `dev=True` (`pgcredits serve --dev`, and `pgcredits up`): the
  demo's routes, development tooling that lives in `pgcredits.dev.demo`.
  Without the flag they do not exist (404).

The stream takes its token as `?access_token=` on /events (app.py), since
EventSource cannot send an Authorization header; `RedactAccessTokens` keeps
it out of uvicorn's access log.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pgcredits.gateway.app import Gateway

STATIC = Path(__file__).with_name("static")
SCRIPT_CACHE = "public, max-age=3600"  # an hour, then revalidated by ETag


@dataclass(frozen=True)
class Asset:
    """A static file, read once, answered with an ETag (304 when the browser has it)."""

    body: bytes
    media_type: str
    etag: str

    @classmethod
    def load(cls, path: Path, media_type: str) -> Asset:
        body = path.read_bytes()
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
    script = Asset.load(STATIC / "pgcredits.js", "text/javascript; charset=utf-8")

    async def widget_js(request: Request) -> Response:
        return script.response(request, {"Cache-Control": SCRIPT_CACHE, "Access-Control-Allow-Origin": "*"})

    routes = [Route("/widget/pgcredits.js", widget_js, methods=["GET"])]
    if not dev:
        return routes
    from pgcredits.dev.demo import demo_routes  # dev tooling, imported only when asked for

    return [*routes, *demo_routes(gateway, secret)]


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
