"""What the Python clients and the gateway both write: a named-argument call of a SQL function, and JSON text.

One home for both (STYLE 11): `pgcredits.client` and `pgcredits.gateway`
build `select ... from credits.fn("name" => $1::type, ...)` with
`named_call`, and write parsed or Python JSON values (Decimals exact) with
`json_text`. Names are quoted here; values are never part of the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any


def quote_ident(name: str) -> str:
    """A name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


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
