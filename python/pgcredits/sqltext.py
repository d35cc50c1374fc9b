"""What the Python clients and the gateway both write: a named-argument call of a SQL function, JSON text, and
the statement that acts as a caller.

One home for each (STYLE 11): `pgcredits.client` and `pgcredits.gateway`
build `select ... from credits.fn("name" => $1::type, ...)` with
`named_call`, write parsed or Python JSON values (Decimals exact) with
`json_text`, and set the caller's role and claims with `set_caller`.
Names are quoted here; values are never part of the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any


def quote_ident(name: str) -> str:
    """A name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A fixed name (a setting's, a key's) as a SQL string literal; values are bound, never quoted here."""
    return "'" + text.replace("'", "''") + "'"


# The settings that say who calls (docs/contract.md, roles): the role, and the claims the functions read.
ROLE = "role"
CLAIMS = "request.jwt.claims"
# The roles a caller may be (ROLE): a token's, a client's `role=`, the gateway login role's memberships.
CALLER_ROLES = ("credits_user", "credits_service", "credits_admin", "credits_auditor")


def set_caller(settings: Sequence[str]) -> str:
    """`select set_config('<setting>', $1::text, true), ...`: each setting, in order, set to the next bound value
    for the rest of the transaction only (nothing outlives it, as PgBouncer's transaction mode needs).

    The clients acting for an end user set ROLE and CLAIMS; the gateway also
    the caller role's `statement_timeout`.
    """
    calls = (f"set_config({quote_literal(setting)}, ${number}::text, true)"
             for number, setting in enumerate(settings, start=1))
    return f"select {', '.join(calls)}"


def named_call(function: str, arguments: Iterable[tuple[str, str]]) -> str:
    """`function("name" => <value>, ...)`: `function` as SQL names it (schema-qualified, quoted where it must be),
    then each argument's name (quoted here) and the SQL that gives its value (a placeholder and its casts, such
    as `$1::text::numeric`)."""
    named = ", ".join(f"{quote_ident(name)} => {value}" for name, value in arguments)
    return f"{function}({named})"


def json_text(value: Any) -> str:
    """A JSON value (parsed with Decimal numbers, or built in Python) as JSON text, numbers with their exact digits.

    Mappings, lists and tuples are written member by member; strings as they
    are (not as \\u escapes), so that a lone surrogate stays visible to whoever
    checks the text; everything else as `json.dumps` writes it.
    """
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_string(str(key))}:{json_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(map(json_text, value)) + "]"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    return json.dumps(value)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
