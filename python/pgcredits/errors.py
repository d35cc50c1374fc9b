"""The error catalogue of SPEC §2, mirrored in Python: one table for the clients and the gateway.

A PostgreSQL error becomes a `CreditsError` subclass chosen by its SQLSTATE
(`from_sqlstate`); each class knows its HTTP status (PostgREST's convention,
so PostgREST, Supabase and the gateway answer alike).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar


class CreditsError(Exception):
    """An error raised by a pgcredits SQL function.

    `code` is the SQLSTATE; `message`, `details` and `hint` are PostgreSQL's
    MESSAGE, DETAIL and HINT fields.
    """

    sqlstate: ClassVar[str | None] = None
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, code: str | None = None, details: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.sqlstate
        self.details = details
        self.hint = hint

    def as_json(self) -> dict[str, str | None]:
        """The `{code, message, details, hint}` body of SPEC §5."""
        return {"code": self.code, "message": self.message, "details": self.details, "hint": self.hint}


class NotFound(CreditsError):
    """PT404: unknown account, feature, plan, credit type, grant, hold or transaction."""

    sqlstate = "PT404"
    http_status = 404


class IdempotencyConflict(CreditsError):
    """PT409: an idempotency key reused with other arguments, or a refund beyond what was charged."""

    sqlstate = "PT409"
    http_status = 409


class InvalidArgument(CreditsError):
    """PT422: an invalid argument (amount <= 0, unknown unit, capture above the hold, bad time zone, no reason)."""

    sqlstate = "PT422"
    http_status = 422


class PermissionDenied(CreditsError):
    """42501: the caller may not do this (its role, or an account not its own)."""

    sqlstate = "42501"
    http_status = 403


class InvariantBroken(CreditsError):
    """PT500: a broken invariant; the ledger refused to write a row that would not reconcile (never expected)."""

    sqlstate = "PT500"
    http_status = 500


class BadInput(CreditsError):
    """Class 22 (data exception): a value PostgreSQL itself could not take, such as text where a number goes."""

    http_status = 400


class StatementCanceled(CreditsError):
    """57014: the statement was cancelled, by its statement_timeout or on request; its transaction rolled back."""

    sqlstate = "57014"
    http_status = 504


class RetryableConflict(CreditsError):
    """40001 or 40P01: a serialization failure or a deadlock; the whole transaction may be retried."""

    http_status = 503


_BY_SQLSTATE: dict[str, type[CreditsError]] = {
    cls.sqlstate: cls
    for cls in (NotFound, IdempotencyConflict, InvalidArgument, PermissionDenied, InvariantBroken, StatementCanceled)
    if cls.sqlstate
}
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def error_class(sqlstate: str | None) -> type[CreditsError]:
    """The class for a SQLSTATE: SPEC's four, StatementCanceled, BadInput for class 22, RetryableConflict, else
    CreditsError."""
    if sqlstate is None:
        return CreditsError
    if sqlstate in _BY_SQLSTATE:
        return _BY_SQLSTATE[sqlstate]
    if sqlstate in RETRYABLE_SQLSTATES:
        return RetryableConflict
    if sqlstate.startswith("22"):
        return BadInput
    return CreditsError


def from_sqlstate(sqlstate: str | None, message: str, *, details: str | None = None,
                  hint: str | None = None) -> CreditsError:
    """The `CreditsError` for a PostgreSQL error's fields."""
    return error_class(sqlstate)(message, code=sqlstate, details=details, hint=hint)


def callers_hint(roles: Iterable[str]) -> str:
    """The hint of a refused call of a function: the caller roles that may call it (the clients and the gateway)."""
    return f"may be called by: {', '.join(sorted(roles)) or 'no caller role'}"
