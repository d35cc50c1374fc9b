"""What a PostgREST request asks beyond the arguments, read as PostgREST 12 reads it (SPEC §5a).

- the query string: `select=` (columns), horizontal filters (`col=eq.v`,
  `neq`, `gt`, `gte`, `lt`, `lte`, `in.(a,b)`, `is.null|not_null|true|false|unknown`,
  each may start with `not.`), `order=col.desc.nullslast,...`, `limit=`,
  `offset=`;
- the `Range` header (`0-9`, `10-`; on GET only, as PostgREST);
- `Prefer` (`count=exact`, `tx=commit|rollback`, `return=minimal`,
  `params=single-object`, `handling=strict|lenient`);
- `Accept` (`application/json`, `application/vnd.pgrst.object+json`
  (`.single()`), `application/vnd.pgrst.array+json`, `;nulls=stripped`).

Everything here is parsed into a `Shape` of catalog columns and text values:
the statement itself is built by `catalog.Function.bind`, names from the
catalog, values bound. Anything that does not parse is a `RequestError`
with PostgREST's code (PGRST100 bad query string, PGRST103 bad range,
PGRST107 media type, PGRST122 preferences) and a message naming the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pgcredits.gateway.limits import echo

OPERATORS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
IS_VALUES = {"null": "is null", "not_null": "is not null", "true": "is true", "false": "is false",
             "unknown": "is unknown"}
RESERVED = frozenset({"select", "order", "limit", "offset"})
OBJECT = "application/vnd.pgrst.object+json"
ARRAY = "application/vnd.pgrst.array+json"
JSON = "application/json"
_RANGE = re.compile(r"\s*(\d+)\s*-\s*(\d*)\s*")
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RequestError(Exception):
    """A query string, Range, Prefer or Accept that cannot be honoured: PostgREST's code, an HTTP status."""

    def __init__(self, status: int, code: str, message: str, *, details: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.hint = status, code, message, details, hint


def bad_query(message: str, details: str | None = None) -> RequestError:
    return RequestError(400, "PGRST100", message, details=details,
                        hint="see PostgREST's operators: eq, neq, gt, gte, lt, lte, in, is (each may follow not.)")


@dataclass(frozen=True)
class Filter:
    """`column <op> value`: op a key of OPERATORS, `in` (values a list) or `is` (value a key of IS_VALUES)."""

    column: str
    operator: str
    value: str | tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True)
class Order:
    column: str
    descending: bool = False
    nulls: str | None = None  # "first", "last", or the default


@dataclass(frozen=True)
class Preferences:
    """The `Prefer` header's preferences the gateway honours, and the ones it applied (Preference-Applied)."""

    count: bool = False
    rollback: bool = False
    minimal: bool = False
    single_object: bool = False
    applied: tuple[str, ...] = ()


@dataclass(frozen=True)
class Shape:
    """How the rows of a function are read: columns (None: all), filters, order, the range, the count."""

    columns: tuple[str, ...] | None = None
    filters: tuple[Filter, ...] = ()
    order: tuple[Order, ...] = ()
    offset: int = 0
    limit: int | None = None
    count: bool = False
    singular: bool = False
    strip_nulls: bool = False

    @property
    def plain(self) -> bool:
        """Nothing asked beyond the call (the statement can be the shortest)."""
        return (self.columns is None and not self.filters and not self.order and self.offset == 0
                and self.limit is None and not self.count)


@dataclass
class Parsed:
    """A request's query string split into arguments (GET, HEAD) and the Shape's parts."""

    arguments: dict[str, str] = field(default_factory=dict)
    columns: tuple[str, ...] | None = None
    filters: list[Filter] = field(default_factory=list)
    order: tuple[Order, ...] = ()
    offset: int = 0
    limit: int | None = None


def parse_query(items: Iterable[tuple[str, str]], *, arguments: Sequence[str], by_query: bool) -> Parsed:
    """Split a query string: function arguments (GET and HEAD only), select, order, limit, offset, filters.

    A key that names none of them and whose value is no filter is returned as
    an argument, so the caller refuses it as an unknown argument (PGRST202),
    as PostgREST does. Raises RequestError (PGRST100) for what does not parse.
    """
    parsed = Parsed()
    seen: set[str] = set()
    for key, value in items:
        if by_query and key in arguments:
            if key in parsed.arguments:
                raise bad_query(f"parameter {echo(key)} is given twice", "give each argument once")
            parsed.arguments[key] = value
        elif key in RESERVED:
            if key in seen:
                raise bad_query(f"{key}= is given twice")
            seen.add(key)
            if key == "select":
                parsed.columns = parse_select(value)
            elif key == "order":
                parsed.order = parse_order(value)
            elif key == "limit":
                parsed.limit = _count_value("limit", value)
            else:
                parsed.offset = _count_value("offset", value)
        else:
            filter_ = parse_filter(key, value)
            if filter_ is None:
                if not by_query:
                    raise bad_query(f"failed to parse filter {echo(key)}={echo(value)}",
                                    "a filter is column=operator.value, such as available=gt.0")
                parsed.arguments.setdefault(key, value)  # an unknown argument, refused by name
            else:
                parsed.filters.append(filter_)
    return parsed


def parse_select(text: str) -> tuple[str, ...] | None:
    """`select=`: `*` or column names, comma-separated (no renaming, casts or embedding)."""
    names = [part.strip() for part in text.split(",")]
    if names == ["*"] or names == [""]:
        return None
    for name in names:
        if not _COLUMN.fullmatch(name):
            raise bad_query(f"failed to parse select parameter ({echo(text)}): {echo(name)} is not a column name",
                            "select= takes column names of the function's result, comma-separated")
    return tuple(dict.fromkeys(names))


def parse_order(text: str) -> tuple[Order, ...]:
    """`order=col[.asc|.desc][.nullsfirst|.nullslast],...`."""
    orders = []
    for term in text.split(","):
        column, *modifiers = term.strip().split(".")
        if not _COLUMN.fullmatch(column) or len(modifiers) > 2:
            raise bad_query(f"failed to parse order ({echo(text)})", "order=column.asc|desc.nullsfirst|nullslast")
        descending, nulls = False, None
        for modifier in modifiers:
            if modifier in ("asc", "desc"):
                descending = modifier == "desc"
            elif modifier in ("nullsfirst", "nullslast"):
                nulls = modifier.removeprefix("nulls")
            else:
                raise bad_query(f"failed to parse order ({echo(text)}): unknown modifier {echo(modifier)}",
                                "order=column.asc|desc.nullsfirst|nullslast")
        orders.append(Order(column, descending, nulls))
    return tuple(orders)


def parse_filter(column: str, text: str) -> Filter | None:
    """`col=[not.]op.value`, or None when `text` is not a filter at all."""
    negated = text.startswith("not.")
    rest = text[4:] if negated else text
    operator, dot, value = rest.partition(".")
    if not dot or (operator not in OPERATORS and operator not in ("in", "is")):
        if not negated and (not dot or not operator.isalpha()):
            return None
        raise bad_query(f"failed to parse filter {echo(column)}={echo(text)}: unknown operator {echo(operator)}",
                        "the gateway takes eq, neq, gt, gte, lt, lte, in and is")
    if not _COLUMN.fullmatch(column):
        raise bad_query(f"failed to parse filter {echo(column)}={echo(text)}: {echo(column)} is not a column name")
    if operator == "is":
        if value not in IS_VALUES:
            raise bad_query(f"failed to parse filter {echo(column)}={echo(text)}",
                            "is. takes null, not_null, true, false or unknown")
        return Filter(column, "is", value, negated)
    if operator == "in":
        return Filter(column, "in", parse_list(column, text, value), negated)
    return Filter(column, operator, value, negated)


def parse_list(column: str, whole: str, text: str) -> tuple[str, ...]:
    """`(a,"b,c",d)`: values separated by commas, double-quoted ones with backslash escapes."""
    if not (text.startswith("(") and text.endswith(")")):
        raise bad_query(f"failed to parse filter {echo(column)}={echo(whole)}", "in. takes a list: in.(a,b,c)")
    body = text[1:-1]
    values: list[str] = []
    index = 0
    while index <= len(body):
        if index < len(body) and body[index] == '"':
            index += 1
            chars = []
            while index < len(body) and body[index] != '"':
                if body[index] == "\\" and index + 1 < len(body):
                    index += 1
                chars.append(body[index])
                index += 1
            if index >= len(body):
                raise bad_query(f"failed to parse filter {echo(column)}={echo(whole)}: an unclosed quote")
            index += 1
            if index < len(body) and body[index] != ",":
                raise bad_query(f"failed to parse filter {echo(column)}={echo(whole)}: text after a quoted value")
            values.append("".join(chars))
        else:
            end = body.find(",", index)
            end = len(body) if end < 0 else end
            values.append(body[index:end].strip())
            index = end
        index += 1
    if body == "":
        return ()
    return tuple(values)


def _count_value(name: str, text: str) -> int:
    if not text.strip().isdigit():
        raise bad_query(f"failed to parse {name} parameter ({echo(text)})", f"{name}= takes a whole number")
    return int(text)


def parse_range(header: str | None) -> tuple[int, int | None] | None:
    """The `Range: first-[last]` header as (offset, limit), or None; a last before the first is 416 PGRST103."""
    if header is None:
        return None
    text = header.removeprefix("items=").strip()
    match = _RANGE.fullmatch(text)
    if match is None:
        return None  # not a range of items (RFC 9110: an unknown range unit is ignored)
    first = int(match.group(1))
    if not match.group(2):
        return first, None
    last = int(match.group(2))
    if last < first:
        raise RequestError(416, "PGRST103", "Requested range not satisfiable",
                           details=f"the Range header ends ({last}) before it starts ({first})")
    return first, last - first + 1


def combine_ranges(offset: int, limit: int | None, header: tuple[int, int | None] | None) -> tuple[int, int | None]:
    """The intersection of limit=/offset= and the Range header, as PostgREST restricts one by the other."""
    if header is None:
        return offset, limit
    start = max(offset, header[0])
    ends = [end for end in (None if limit is None else offset + limit,
                            None if header[1] is None else header[0] + header[1]) if end is not None]
    end = min(ends) if ends else None
    return start, None if end is None else max(end - start, 0)


KNOWN_PREFERENCES = {"count": {"exact", "planned", "estimated"}, "tx": {"commit", "rollback"},
                     "return": {"minimal", "representation", "headers-only"}, "params": {"single-object"},
                     "handling": {"strict", "lenient"}}


def parse_prefer(values: Sequence[str]) -> Preferences:
    """Every `Prefer` header's preferences; unknown ones are ignored unless `handling=strict` (400 PGRST122)."""
    found: dict[str, str] = {}
    invalid: list[str] = []
    for header in values:
        for item in header.split(","):
            item = item.strip()
            if not item:
                continue
            name, _, value = item.partition("=")
            name, value = name.strip().lower(), value.strip().lower()
            if value in KNOWN_PREFERENCES.get(name, ()):
                found.setdefault(name, value)
            else:
                invalid.append(item)
    if found.get("handling") == "strict" and invalid:
        raise RequestError(400, "PGRST122", "Invalid preferences given with handling=strict",
                           details=f"Invalid preferences: {echo(', '.join(invalid))}",
                           hint="the gateway honours count, tx, return, params and handling")
    applied = [f"{name}={found[name]}" for name in ("tx", "return", "params", "count", "handling")
               if name in found and not (name == "tx" and found[name] == "commit")]
    return Preferences(count="count" in found, rollback=found.get("tx") == "rollback",
                       minimal=found.get("return") == "minimal", single_object="params" in found,
                       applied=tuple(applied))


def parse_accept(header: str | None) -> tuple[bool, bool]:
    """(singular, strip_nulls) from `Accept`: the first media type the gateway can answer; else 406 PGRST107."""
    if not header or not header.strip():
        return False, False
    offered = []
    for item in header.split(","):
        kind, *parameters = (part.strip() for part in item.split(";"))
        kind = kind.lower()
        options = dict(p.partition("=")[::2] for p in parameters if p)
        if options.get("q", "1").strip() in ("0", "0.0", "0.00", "0.000"):
            continue
        strip = options.get("nulls") == "stripped"
        if kind in (OBJECT, "application/vnd.pgrst.object"):
            return True, strip
        if kind in (JSON, ARRAY, "*/*", "application/*"):
            return False, strip
        offered.append(kind)
    raise RequestError(406, "PGRST107", f"None of these media types are available: {echo(', '.join(offered))}",
                       hint=f"send Accept: {JSON} or {OBJECT}")


def check_columns(function: str, known: Mapping[str, str], shape: Shape) -> None:
    """Every column `shape` names is one of the function's result columns (else 400 42703, as PostgreSQL says)."""
    named = [*(shape.columns or ()), *(f.column for f in shape.filters), *(o.column for o in shape.order)]
    for column in named:
        if column not in known:
            raise RequestError(400, "42703", f"column {function}.{echo(column)} does not exist",
                               hint=f"{function} returns: {', '.join(known) or 'no columns'}")
