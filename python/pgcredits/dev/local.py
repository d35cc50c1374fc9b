"""The gateway of `pgcredits up` (development only).

`up` ends with the gateway serving the local cluster (SPEC §6): a login role
that may only SET ROLE to the four caller roles, a development JWT secret
kept in `.pgcredits/` (created once, readable by its owner only), a sample
token and a curl line, then the gateway in the foreground until Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import shlex
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import jwt
import psycopg
from psycopg import sql

from pgcredits.dev.demo import DEMO_ACCOUNT
from pgcredits.gateway.app import serve
from pgcredits.gateway.auth import GatewayConfigError
from pgcredits.sqltext import CALLER_ROLES

GATEWAY_ROLE = "pgcredits_gateway"
SECRET_FILE = "gateway_jwt_secret"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SAMPLE_ACCOUNT = DEMO_ACCOUNT
SAMPLE_TOKEN_DAYS = 30


def ensure_gateway_role(superuser_url: str, role: str = GATEWAY_ROLE) -> None:
    """The gateway's login role, created when missing: NOINHERIT, a member of the four caller roles, nothing else."""
    members = sql.SQL(", ").join(map(sql.Identifier, CALLER_ROLES))
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        if conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone() is None:
            conn.execute(sql.SQL("create role {} login noinherit in role {}").format(sql.Identifier(role), members))
            print(f"created the gateway's login role {role}")
        else:
            conn.execute(sql.SQL("grant {} to {}").format(members, sql.Identifier(role)))


def dev_secret(state_dir: Path) -> str:
    """The development JWT secret in `state_dir`, created once with mode 0600."""
    path = state_dir / SECRET_FILE
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(48) + "\n")
    print(f"created a development JWT secret in {path}")
    return path.read_text().strip()


def as_role(url: str, role: str) -> str:
    """`url` logging in as `role` instead (no password: the local cluster trusts 127.0.0.1)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


def serve_locally(superuser_url: str, state_dir: Path) -> None:
    """What `pgcredits up` ends with: the gateway serving the local cluster until Ctrl-C."""
    port_text = os.environ.get("PGCREDITS_GATEWAY_PORT", str(DEFAULT_PORT))
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise GatewayConfigError(f"PGCREDITS_GATEWAY_PORT must be a TCP port number, not {port_text!r}")
    port = int(port_text)
    ensure_gateway_role(superuser_url)
    secret = dev_secret(state_dir)
    sample = jwt.encode({"sub": SAMPLE_ACCOUNT, "role": "credits_user",
                         "exp": int(time.time()) + SAMPLE_TOKEN_DAYS * 86400}, secret, algorithm="HS256")
    base = f"http://{DEFAULT_HOST}:{port}"
    print(f"gateway:      {base}  (OpenAPI: {base}/openapi.json)")
    print(f"demo:         {base}/demo  (the browser widget, signed in as {SAMPLE_ACCOUNT})")
    print(f"JWT secret:   {state_dir / SECRET_FILE}  (PGCREDITS_JWT_SECRET for `pgcredits serve`)")
    print(f"sample token ({SAMPLE_ACCOUNT}, credits_user, {SAMPLE_TOKEN_DAYS} days):")
    print(f"  TOKEN={sample}")
    print("  curl -s -H \"Authorization: Bearer $TOKEN\" "
          + shlex.quote(f"{base}/rpc/get_balance?account_id={SAMPLE_ACCOUNT}"))
    print("serving until Ctrl-C")
    serve(as_role(superuser_url, GATEWAY_ROLE), DEFAULT_HOST, port, jwt_secret=secret, dev=True)
