"""Who is calling: a verified JWT (`Authorization: Bearer ...`) read as PostgREST reads it.

The token is verified with an HS256 secret or with the keys of a JWKS URL.
Its `role` claim names one of the four roles of SPEC §3 (`credits_user` when
absent), or a name the role map turns into one (SPEC §5: Supabase's
`authenticated` is `credits_user` and `service_role` is `credits_service`,
and `PGCREDITS_ROLE_MAP` adds others); `sub` names the user's account.
Everything wrong with a token is an AuthError (HTTP 401, PostgREST's code:
PGRST302 without a token, PGRST301 for one that is refused).

A verified token is remembered (at most TOKEN_CACHE_SIZE of them, each at
most TOKEN_CACHE_SECONDS and never past its `exp`), so a client sending the
same token again is not verified again: PostgREST's JWT cache.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from pgcredits.gateway.catalog import ROLES

DEFAULT_ROLE = "credits_user"
JWKS_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "EdDSA"]
# Supabase's roles, as SPEC §5 maps them; PGCREDITS_ROLE_MAP may add others (or map these elsewhere).
SUPABASE_ROLES = {"authenticated": "credits_user", "service_role": "credits_service"}
TOKEN_CACHE_SIZE = 10_000
TOKEN_CACHE_SECONDS = 60.0
NO_TOKEN = "PGRST302"
BAD_TOKEN = "PGRST301"
_CLAIM_VALUE = re.compile(r"[A-Za-z0-9_.:@-]{1,63}")


class AuthError(Exception):
    """No token (PGRST302), or one that is invalid, expired or names a role outside the map (PGRST301): HTTP 401."""

    def __init__(self, message: str, code: str = BAD_TOKEN) -> None:
        super().__init__(message)
        self.code = code


def role_map(text: str | None) -> dict[str, str]:
    """The `role` claims a token may carry and the role each runs as: the four roles as themselves, Supabase's
    two, then `text` (PGCREDITS_ROLE_MAP: `claim=role,claim=role`). Raises ValueError naming a bad entry."""
    mapping = {**{role: role for role in ROLES}, **SUPABASE_ROLES}
    for entry in (text or "").split(","):
        if not entry.strip():
            continue
        claim, equals, role = (part.strip() for part in entry.partition("="))
        if not equals or not _CLAIM_VALUE.fullmatch(claim) or role not in ROLES:
            raise ValueError(f"PGCREDITS_ROLE_MAP entries are claim=role with role one of {', '.join(ROLES)}, "
                             f"not {entry.strip()!r}")
        mapping[claim] = role
    return mapping


@dataclass(frozen=True)
class Identity:
    """A verified caller: the role the request runs as, the account it is (`sub`), and every claim."""

    role: str
    sub: str | None
    claims: Mapping[str, Any]

    @property
    def expires_at(self) -> float | None:
        """The token's `exp` (seconds since the epoch; verified when present), or None."""
        exp = self.claims.get("exp")
        return None if exp is None else float(exp)

    @functools.cached_property
    def claims_json(self) -> str:
        """The claims as `request.jwt.claims` holds them, role included."""
        return json.dumps({**self.claims, "role": self.role}, separators=(",", ":"), default=str)


class Authenticator:
    """Verifies bearer tokens with `secret` (HS256) or the keys at `jwks_url`; exactly one of the two.

    `require_exp`: a token without `exp` is refused (a stream could outlive it).
    """

    def __init__(self, *, secret: str | None = None, jwks_url: str | None = None, audience: str | None = None,
                 require_exp: bool = False, roles: Mapping[str, str] | None = None) -> None:
        if bool(secret) == bool(jwks_url):
            raise ValueError("the gateway needs exactly one of PGCREDITS_JWT_SECRET and PGCREDITS_JWKS_URL")
        self._secret = secret
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._audience = audience
        self._required = ["exp"] if require_exp else []
        self.roles = dict(roles) if roles is not None else role_map(None)
        self._cache: OrderedDict[str, tuple[float, Identity]] = OrderedDict()

    async def identify(self, authorization: str | None) -> Identity:
        """The caller of a request with this Authorization header."""
        if not authorization:
            raise AuthError("no Authorization header: send Authorization: Bearer <JWT>", NO_TOKEN)
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("the Authorization header must be Bearer <JWT>")
        cached = self._cache.get(token)
        now = time.time()
        if cached is not None:
            if cached[0] > now:
                return cached[1]
            del self._cache[token]
        claims = await self._verify(token)
        role = claims.get("role", DEFAULT_ROLE)
        if not isinstance(role, str) or role not in self.roles:
            shown = role if isinstance(role, str) else json.dumps(role)[:100]
            raise AuthError(f"the token's role {shown[:100]!r} is none of {', '.join(self.roles)} "
                            "(PGCREDITS_ROLE_MAP maps others)")
        sub = claims.get("sub")
        if sub is not None and not isinstance(sub, str):
            raise AuthError("the token's sub claim must be a string")
        identity = Identity(role=self.roles[role], sub=sub, claims=claims)
        exp = claims.get("exp")
        self._cache[token] = (min(now + TOKEN_CACHE_SECONDS, float(exp) if exp is not None else now + 86400),
                              identity)
        if len(self._cache) > TOKEN_CACHE_SIZE:
            self._cache.popitem(last=False)
        return identity

    async def _verify(self, token: str) -> dict[str, Any]:
        options = {"verify_aud": self._audience is not None, "require": self._required}
        try:
            if self._jwks is not None:
                # PyJWKClient fetches the key set over HTTP (then caches it): not on the event loop.
                key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                return jwt.decode(token, key.key, algorithms=JWKS_ALGORITHMS, audience=self._audience,
                                  options=options)
            return jwt.decode(token, self._secret, algorithms=["HS256"], audience=self._audience, options=options)
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.PyJWKClientError as err:
            raise AuthError(f"no key to verify the token: {err}") from None
        except jwt.InvalidTokenError as err:
            raise AuthError(f"invalid token: {err}") from None
