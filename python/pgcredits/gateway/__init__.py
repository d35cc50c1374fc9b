"""The HTTP gateway (SPEC §5): `create_app(database_url, ...)` for ASGI servers, `serve(...)` to run it."""

from pgcredits.gateway.app import create_app, serve

__all__ = ["create_app", "serve"]
