"""CORS for the gateway (SPEC §5a): browser pages on other origins may call it.

Starlette's CORSMiddleware answers preflights and adds `Access-Control-*`
headers to every answer of an allowed origin. Origins come from
PGCREDITS_CORS_ORIGINS (comma-separated, default `*`). No credentials mode:
callers authenticate with a bearer token, never with cookies, so `*` is safe
to allow.

Added for the browser widget (issue 11), as the smallest correct CORS; issue
10's PostgREST work owns the rest of §5a.
"""

from __future__ import annotations

import os

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

ALLOWED_HEADERS = ["Authorization", "Content-Type", "Prefer", "Accept", "Idempotency-Key", "Range"]
EXPOSED_HEADERS = ["Content-Range"]
PREFLIGHT_MAX_AGE = 600  # seconds a browser may keep a preflight's answer


def allowed_origins(value: str | None = None) -> list[str]:
    """The origins of PGCREDITS_CORS_ORIGINS (or `value`): `*`, or a comma-separated list."""
    text = os.environ.get("PGCREDITS_CORS_ORIGINS", "*") if value is None else value
    origins = [origin.strip().rstrip("/") for origin in text.split(",") if origin.strip()]
    return origins or ["*"]


def cors_middleware(origins: list[str] | None = None) -> Middleware:
    return Middleware(CORSMiddleware, allow_origins=origins or allowed_origins(),
                      allow_methods=["GET", "HEAD", "POST", "OPTIONS"], allow_headers=ALLOWED_HEADERS,
                      expose_headers=EXPOSED_HEADERS, allow_credentials=False, max_age=PREFLIGHT_MAX_AGE)
