"""What the gateway may call: the functions of schema `credits`, read from pg_proc once at start-up.

Every SQL statement the gateway runs for an RPC is built here from catalog
names (schema, function and parameter names, argument types as format_type
spells them); request values are only ever bound parameters. Values travel as
text and PostgreSQL casts them (`$1::text::numeric`), so a bad value is
PostgreSQL's own class 22 error, and the driver needs no type codecs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pgcredits.gateway.limits import TooDeep, check_depth, depth_message, echo

SCHEMA = "credits"
ROLES = ("credits_user", "credits_service", "credits_admin", "credits_auditor")

# One row per function of the schema (plain functions, not procedures or
# aggregates): its arguments in order with their modes, types and defaults,
# the columns it returns, its comment, and which of the four roles may run it.
CATALOG_QUERY = """
select p.proname::text as name,
       p.provolatile::text as volatility,
       p.proretset as returns_set,
       (t.typtype = 'c' or p.prorettype = 'record'::regtype) as returns_row,
       format_type(p.prorettype, null) as return_type,
       obj_description(p.oid, 'pg_proc') as comment,
       coalesce((
         select json_agg(json_build_object(
                  'name', a.name,
                  'type', format_type(a.type, null),
                  'mode', coalesce(a.mode, 'i'),
                  'default', pg_get_function_arg_default(p.oid, a.position::int))
                order by a.position)
         from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames, p.proargmodes::text[])
              with ordinality as a(type, name, mode, position)
       ), '[]')::text as arguments,
       coalesce((
         select json_agg(json_build_object('name', c.attname, 'type', format_type(c.atttypid, c.atttypmod))
                order by c.attnum)
         from pg_attribute c
         where c.attrelid = t.typrelid and c.attnum > 0 and not c.attisdropped
       ), '[]')::text as row_columns,
       array(select r from unnest($1::text[]) r where has_function_privilege(r, p.oid, 'execute')) as roles
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
join pg_type t on t.oid = p.prorettype
where n.nspname = $2 and p.prokind = 'f'
order by p.proname, p.oid
"""

# JSON types a POSTed value may have, per PostgreSQL type; a type not listed takes a string.
_INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})
_JSON_TYPES = frozenset({"json", "jsonb"})


class ArgumentError(Exception):
    """The request's parameters do not fit the function's signature (HTTP 400)."""


@dataclass(frozen=True)
class Argument:
    """An input parameter: its name, its PostgreSQL type, and its default expression (None: required)."""

    name: str
    type: str
    default: str | None

    @property
    def required(self) -> bool:
        return self.default is None

    def json_kind(self) -> str:
        """The JSON Schema type of the values this parameter takes."""
        if self.type in _INTEGER_TYPES:
            return "integer"
        if self.type == "numeric":
            return "number"
        if self.type == "boolean":
            return "boolean"
        if self.type in _JSON_TYPES:
            return "any"
        return "string"


@dataclass(frozen=True)
class Column:
    """A column of a function's result."""

    name: str
    type: str


@dataclass(frozen=True)
class Function:
    """A function of schema `credits` as the catalog describes it."""

    name: str
    volatility: str  # 'i' immutable, 's' stable, 'v' volatile
    returns_set: bool
    returns_row: bool
    return_type: str
    comment: str | None
    arguments: tuple[Argument, ...]
    columns: tuple[Column, ...]
    roles: frozenset[str]

    @property
    def read_only(self) -> bool:
        """Whether it changes nothing (STABLE or IMMUTABLE): callable by GET, in a read-only transaction."""
        return self.volatility in ("s", "i")

    def argument(self, name: str) -> Argument | None:
        return next((arg for arg in self.arguments if arg.name == name), None)

    def bind(self, values: Mapping[str, Any], *, from_query: bool = False) -> tuple[str, list[str | None]]:
        """The statement calling this function with `values` by name, and its parameters (text or NULL).

        `values` comes from a JSON body, or from a query string (`from_query`:
        every value is text, PostgreSQL casts it). Raises ArgumentError naming
        an unknown or missing parameter, or a value of the wrong JSON type.
        """
        unknown = sorted(set(values) - {arg.name for arg in self.arguments})
        if unknown:
            known = ", ".join(arg.name for arg in self.arguments) or "none"
            raise ArgumentError(
                f"{self.name} has no parameter {', '.join(map(echo, unknown[:5]))} (its parameters: {known})"
            )
        missing = [arg.name for arg in self.arguments if arg.required and arg.name not in values]
        if missing:
            raise ArgumentError(f"{self.name} needs parameter {', '.join(missing)}")
        named: list[str] = []
        params: list[str | None] = []
        for arg in self.arguments:
            if arg.name not in values:
                continue
            value = values[arg.name]
            if from_query and arg.type in _JSON_TYPES:
                _check_depth(arg, value)
            text = value if from_query else _as_text(self.name, arg, value)
            if text is not None and not text.isascii():
                _check_unicode(self.name, arg, text)
            params.append(text)
            named.append(f"{quote_ident(arg.name)} => ${len(params)}::text::{arg.type}")
        call = f"{quote_ident(SCHEMA)}.{quote_ident(self.name)}({', '.join(named)})"
        if self.columns and not self.returns_row:
            # `returns table (released numeric)` is a function of a scalar type in pg_proc: as a row
            # source it would answer bare values. Its columns by name, as PostgREST and /openapi.json say.
            call = f"(select * from {call})"
        if self.returns_set:
            statement = f"select coalesce(json_agg(r), '[]')::text from {call} r"
        elif self.returns_row or self.columns:
            statement = f"select to_json(r)::text from {call} r"
        else:
            statement = f"select to_json({call})::text"
        return statement, params


class Catalog:
    """The callable functions by name. An overloaded name is reachable by none of its signatures."""

    def __init__(self, functions: list[Function]) -> None:
        names = [function.name for function in functions]
        self.overloaded = sorted({name for name in names if names.count(name) > 1})
        self.functions = {function.name: function for function in functions if function.name not in self.overloaded}

    def get(self, name: str) -> Function | None:
        return self.functions.get(name)


def parse_catalog(rows: list[Mapping[str, Any]]) -> Catalog:
    """A Catalog from the rows of CATALOG_QUERY."""
    functions = []
    for row in rows:
        arguments = json.loads(row["arguments"])
        columns = [Column(a["name"], a["type"]) for a in arguments if a["mode"] in ("o", "b", "t")]
        if not columns:
            columns = [Column(c["name"], c["type"]) for c in json.loads(row["row_columns"])]
        functions.append(
            Function(
                name=row["name"],
                volatility=row["volatility"],
                returns_set=row["returns_set"],
                returns_row=row["returns_row"],
                return_type=row["return_type"],
                comment=row["comment"],
                arguments=tuple(Argument(a["name"], a["type"], a["default"]) for a in arguments
                                if a["mode"] in ("i", "b", "v")),
                columns=tuple(columns),
                roles=frozenset(row["roles"]),
            )
        )
    return Catalog(functions)


def quote_ident(name: str) -> str:
    """A catalog name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _as_text(function: str, arg: Argument, value: Any) -> str | None:
    """A JSON value in PostgreSQL's text form for `arg`, after checking its JSON type."""
    if value is None:
        return None
    kind = arg.json_kind()
    if kind == "any":
        return to_json_text(value)
    is_number = isinstance(value, int | Decimal) and not isinstance(value, bool)
    fits = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": is_number or isinstance(value, str),  # exact amounts may travel as strings
        "boolean": isinstance(value, bool),
        "string": isinstance(value, str),
    }[kind]
    if not fits:
        raise ArgumentError(
            f"parameter {arg.name} of {function} takes {'an' if kind == 'integer' else 'a'} {kind} ({arg.type}), "
            f"not {_json_name(value)} {echo(to_json_text(value))}"
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_depth(arg: Argument, text: str) -> None:
    """A JSON value from a query string nests at most MAX_JSON_DEPTH levels (a body is checked whole)."""
    try:
        check_depth(text)
    except TooDeep:
        raise ArgumentError(depth_message(arg.name)) from None


def _check_unicode(function: str, arg: Argument, text: str) -> None:
    """Text PostgreSQL can take: JSON's \\ud800 escapes give Python strings that are not Unicode text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ArgumentError(
            f"parameter {arg.name} of {function} holds a lone surrogate ({echo(err.object[err.start:err.end])}): "
            "not Unicode text"
        ) from None


def to_json_text(value: Any) -> str:
    """A parsed JSON value written back as JSON, numbers (Decimal) with their exact digits.

    Strings are written as they are (not as \\u escapes), so that a lone
    surrogate stays visible to `_check_unicode`.
    """
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(key)}:{to_json_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(to_json_text, value)) + "]"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    return json.dumps(value)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _json_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a value"
