"""What the gateway may call: the functions of schema `credits`, read from pg_proc once at start-up.

Every SQL statement the gateway runs for an RPC is built here from catalog
names (schema, function and parameter names, argument types as format_type
spells them); request values are only ever bound parameters. Values travel as
text and PostgreSQL casts them (`$1::text::numeric`), so a bad value is
PostgreSQL's own class 22 error, and the driver needs no type codecs.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pgcredits.gateway.limits import TooDeep, check_depth, depth_message, echo
from pgcredits.gateway.query import IS_VALUES, OPERATORS, Filter, Shape, bad_query, check_columns
from pgcredits.sqltext import json_text, named_call, quote_ident

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
PLAIN = Shape()


class ArgumentError(Exception):
    """The request's parameters do not fit the function's signature: `unknown` (a name it does not take, or one
    it needs, PGRST202 as PostgREST says: no such function) or a value it cannot take (HTTP 400)."""

    def __init__(self, message: str, *, unknown: bool = False) -> None:
        super().__init__(message)
        self.unknown = unknown


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

    @functools.cached_property
    def argument_names(self) -> frozenset[str]:
        return frozenset(arg.name for arg in self.arguments)

    @functools.cached_property
    def column_types(self) -> dict[str, str]:
        """The result's columns by name, with their types (none for a function returning a bare value)."""
        return {column.name: column.type for column in self.columns}

    def bind(self, values: Mapping[str, Any], *, from_query: bool = False,
             shape: Shape = PLAIN) -> tuple[str, list[str | list[str] | None]]:
        """The statement calling this function with `values` by name and reading its rows as `shape` says, and
        its parameters (text, lists of text for `in.`, or NULL).

        The statement answers one row: how many rows the answer holds, how many
        the filters let through when `shape.count` (else NULL), and the answer's
        JSON text (an array; one object when `shape.singular` or the function
        returns one row; a bare value for a function of a scalar type).
        `values` comes from a JSON body, or from a query string (`from_query`:
        every value is text, PostgreSQL casts it). Raises ArgumentError naming
        an unknown or missing parameter (`unknown`), or a value of the wrong
        JSON type; RequestError for a shape the result cannot take.
        """
        unknown = sorted(set(values) - {arg.name for arg in self.arguments})
        if unknown:
            known = ", ".join(arg.name for arg in self.arguments) or "none"
            raise ArgumentError(
                f"{self.name} has no parameter {', '.join(map(echo, unknown[:5]))} (its parameters: {known})",
                unknown=True,
            )
        missing = [arg.name for arg in self.arguments if arg.required and arg.name not in values]
        if missing:
            raise ArgumentError(f"{self.name} needs parameter {', '.join(missing)}", unknown=True)
        named: list[tuple[str, str]] = []
        params: list[str | list[str] | None] = []
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
            named.append((arg.name, f"${len(params)}::text::{arg.type}"))
        call = named_call(f"{quote_ident(SCHEMA)}.{quote_ident(self.name)}", named)
        if not self.columns:
            if shape.columns or shape.filters or shape.order or shape.limit is not None or shape.offset:
                raise bad_query(f"{self.name} returns a single {self.return_type}: select=, filters, order, "
                                "limit and offset apply to functions returning rows")
            return f"select 1, {'1' if shape.count else 'null'}::bigint, to_json({call})::text", params
        check_columns(self.name, self.column_types, shape)
        where = [self._condition(f, params) for f in shape.filters]
        tail = ""
        if shape.order:
            tail += " order by " + ", ".join(
                f"r.{quote_ident(o.column)}{' desc' if o.descending else ''}{f' nulls {o.nulls}' if o.nulls else ''}"
                for o in shape.order)
        if shape.limit is not None:
            params.append(str(shape.limit))
            tail += f" limit ${len(params)}::text::bigint"
        if shape.offset:
            params.append(str(shape.offset))
            tail += f" offset ${len(params)}::text::bigint"
        columns = ", ".join(f"r.{quote_ident(c)}" for c in shape.columns) if shape.columns else "r.*"
        row = "json_strip_nulls(to_json(p))" if shape.strip_nulls else "p"
        if shape.singular or not self.returns_set:
            body = f"(json_agg({row}) -> 0)::text"
        else:
            body = f"coalesce(json_agg({row}), '[]')::text"
        # `(select * from fn(...)) r`: a function declared `returns table (released numeric)` is of a scalar type in
        # pg_proc, and as a row source it would answer bare values; this way its columns are named, as PostgREST
        # and /openapi.json say.
        filtered = f"select * from (select * from {call}) r{' where ' + ' and '.join(where) if where else ''}"
        if shape.count:
            return (f"with f as materialized ({filtered}) select count(*)::int, (select count(*) from f)::bigint, "
                    f"{body} from (select {columns} from f r{tail}) p"), params
        return f"select count(*)::int, null::bigint, {body} from (select {columns} from ({filtered}) r{tail}) p", params

    def _condition(self, filter_: Filter, params: list[str | list[str] | None]) -> str:
        """One filter as SQL on the catalog's column, its value bound and cast to the column's type."""
        column, type_ = f"r.{quote_ident(filter_.column)}", self.column_types[filter_.column]
        if filter_.operator == "is":
            condition = f"{column} {IS_VALUES[str(filter_.value)]}"
        elif filter_.operator == "in":
            params.append(list(filter_.value))
            condition = f"{column} = any(${len(params)}::text[]::{type_}[])"
        else:
            params.append(str(filter_.value))
            condition = f"{column} {OPERATORS[filter_.operator]} ${len(params)}::text::{type_}"
        return f"not ({condition})" if filter_.negated else condition


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


def _as_text(function: str, arg: Argument, value: Any) -> str | None:
    """A JSON value in PostgreSQL's text form for `arg`, after checking its JSON type."""
    if value is None:
        return None
    kind = arg.json_kind()
    if kind == "any":
        return json_text(value)
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
            f"not {_json_name(value)} {echo(json_text(value))}"
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
