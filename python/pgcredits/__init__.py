"""pgcredits: a credits ledger that lives in PostgreSQL; this package wraps its SQL functions.

`Credits` (psycopg 3) and `AsyncCredits` (asyncpg) call the functions of
schema `credits` (docs/clients.md); their results are the models of
`pgcredits.models`; their errors the classes of `pgcredits.errors`.
"""

from pgcredits.client import DEFAULT, AsyncCredits, Credits
from pgcredits.errors import (
    BadInput,
    CreditsError,
    IdempotencyConflict,
    InvalidArgument,
    InvariantBroken,
    NotFound,
    PermissionDenied,
    RetryableConflict,
    StatementCanceled,
)

__all__ = [
    "DEFAULT",
    "AsyncCredits",
    "BadInput",
    "Credits",
    "CreditsError",
    "IdempotencyConflict",
    "InvalidArgument",
    "InvariantBroken",
    "NotFound",
    "PermissionDenied",
    "RetryableConflict",
    "StatementCanceled",
]
