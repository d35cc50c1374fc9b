"""Who is calling: a verified JWT (`Authorization: Bearer ...`) read as PostgREST reads it.

The token is verified with an HS256 secret or with the keys of a JWKS URL.
Its `role` claim names one of the four roles of SPEC §3 (`credits_user` when
absent); `sub` names the user's account. Everything wrong with a token is
an AuthError (HTTP 401).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from pgcredits.gateway.catalog import ROLES

DEFAULT_ROLE = "credits_user"
JWKS_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "EdDSA"]


class AuthError(Exception):
    """No token, or one that is invalid, expired or names a role outside the four (HTTP 401)."""


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

    def claims_json(self) -> str:
        """The claims as `request.jwt.claims` holds them, role included."""
        return json.dumps({**self.claims, "role": self.role}, separators=(",", ":"), default=str)


class Authenticator:
    """Verifies bearer tokens with `secret` (HS256) or the keys at `jwks_url`; exactly one of the two.

    `require_exp`: a token without `exp` is refused (a stream could outlive it).
    """

    def __init__(self, *, secret: str | None = None, jwks_url: str | None = None, audience: str | None = None,
                 require_exp: bool = False) -> None:
        if bool(secret) == bool(jwks_url):
            raise ValueError("the gateway needs exactly one of PGCREDITS_JWT_SECRET and PGCREDITS_JWKS_URL")
        self._secret = secret
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._audience = audience
        self._required = ["exp"] if require_exp else []

    async def identify(self, authorization: str | None) -> Identity:
        """The caller of a request with this Authorization header."""
        if not authorization:
            raise AuthError("no Authorization header: send Authorization: Bearer <JWT>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the Authorization header must be Bearer <JWT>")
        claims = await self._verify(token.strip())
        role = claims.get("role", DEFAULT_ROLE)
        if role not in ROLES:
            raise AuthError(f"the token's role {role!r} is none of {', '.join(ROLES)}")
        sub = claims.get("sub")
        if sub is not None and not isinstance(sub, str):
            raise AuthError("the token's sub claim must be a string")
        return Identity(role=role, sub=sub, claims=claims)

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
