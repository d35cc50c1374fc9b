"""The operator's commands: `catalog apply`, `import` and `report`.

Python here only reads files and lays out results: every rule (codes,
amounts, plans, expiry, idempotency) is the SQL functions', and their errors
are what the operator reads. docs/operations.md describes the file formats.
"""

from __future__ import annotations

import csv
import hashlib
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import psycopg
from psycopg import sql
from psycopg.pq.abc import PGresult
from psycopg.types.json import Jsonb

from pgcredits.sqltext import json_text, named_call, quote_ident, quote_literal

PROGRESS_EVERY = 1000  # import: a progress line, and a commit, every this many rows
IMPORT_HEADER = ("account_id", "plan", "amount", "expires_at", "credit_type")
IMPORT_REQUIRED = IMPORT_HEADER[:3]  # expires_at and credit_type may be left out of the header
DEFAULT_CREDIT_TYPE = "credits"  # grant_credits' default, said once more here for the row's key (see ImportRow)
IMPORT_SOURCE = "migration"


class OperationError(Exception):
    """An operation refused as a whole: a file that cannot be read or applied, refused import rows."""


# --- catalog apply ----------------------------------------------------------------------------------------------------

# A value's kind, as the catalog file must give it: a name for the error line and a test.
_Kind = tuple[str, Callable[[Any], bool]]


def _is_number(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, Decimal) and value.is_finite()
    )


TEXT: _Kind = ("a string", lambda value: isinstance(value, str))
NUMBER: _Kind = ("a number", _is_number)
INTEGER: _Kind = ("an integer", lambda value: isinstance(value, int) and not isinstance(value, bool))
FLAG: _Kind = ("true or false", lambda value: isinstance(value, bool))
INTERVAL: _Kind = ('a string such as "1 hour"', lambda value: isinstance(value, str))
AMOUNTS = "amounts"  # a table of numbers keyed by name: allowances, unit rates; sent as jsonb
RULES = "rules"  # a table of tables of numbers keyed by name: a plan's rollover rules; sent as jsonb
# The SQL type of each kind: a key the file leaves out of an existing entry is passed as the entry has it.
SQL_TYPES = {TEXT: "text", NUMBER: "numeric", INTEGER: "integer", FLAG: "boolean", INTERVAL: "interval",
             AMOUNTS: "jsonb", RULES: "jsonb"}

# Every key a catalog file may hold, per kind of entry; each key is the SQL parameter of the same name.
CREDIT_TYPE_KEYS: dict[str, _Kind | str] = {"description": TEXT}
FEATURE_KEYS: dict[str, _Kind | str] = {
    "credit_type": TEXT, "base_cost": NUMBER, "unit_rates": AMOUNTS, "description": TEXT,
}
PLAN_KEYS: dict[str, _Kind | str] = {
    "signup_grant": AMOUNTS, "monthly_allowance": AMOUNTS, "daily_allowance": AMOUNTS, "unlimited": FLAG,
    "description": TEXT, "is_default": FLAG, "rollover": RULES, "overdraft": AMOUNTS,
}
PLAN_FEATURE_KEYS: dict[str, _Kind | str] = {"enabled": FLAG, "period_limit": INTEGER, "cost_override": NUMBER}
AUTO_TOP_UP_KEYS: dict[str, _Kind | str] = {
    "threshold": NUMBER, "credits": NUMBER, "price": NUMBER, "currency": TEXT, "cooldown": INTERVAL,
    "monthly_limit": NUMBER,
}
AUTO_TOP_UP_REQUIRED = ("threshold", "credits")  # set_auto_top_up has no default for them
SECTIONS = ("credit_types", "features", "plans", "auto_top_ups")


@dataclass(frozen=True)
class CatalogCall:
    """One catalog function call: `credits.<function>(**key, **arguments)`, its entry read from `credits.<view>`.

    `keys` are every key such an entry may have (the function's other parameters) with their kinds;
    `required` those a new entry must give.
    """

    label: str
    function: str
    view: str
    key: dict[str, str]
    arguments: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, _Kind | str] = field(default_factory=dict)
    required: tuple[str, ...] = ()


class _Refused(Exception):
    """An entry refused before it reaches the database."""


@dataclass
class CatalogResult:
    """What `apply_catalog` did (or would do): each entry it changed, in the file's order.

    `changes` holds the entry, `created` or `updated`, and for an update what changed (`key: before -> after`).
    """

    changes: list[tuple[str, str, list[str]]] = field(default_factory=list)
    unchanged: int = 0

    def count(self, outcome: str) -> int:
        return sum(1 for _, done, _ in self.changes if done == outcome)


def read_catalog(path: Path) -> list[CatalogCall]:
    """The calls a catalog file asks for, in dependency order, or an OperationError naming the file and the key.

    Nothing is written before the whole file has been read and checked.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except tomllib.TOMLDecodeError as err:
        raise OperationError(f"{path}: not valid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise OperationError(f"{path}: cannot read: {err}") from None

    def fail(where: str, problem: str) -> OperationError:
        return OperationError(f"{path}: {where}: {problem}")

    def entries(parent: Mapping[str, Any], name: str, where: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        table = parent.get(name, {})
        if not isinstance(table, dict):
            raise fail(where, f"expected a table of entries, got {_shown(table)}")
        for code, entry in table.items():
            if not isinstance(entry, dict):
                raise fail(f"{where}.{code}", f"expected a table, got {_shown(entry)}")
            yield code, f"{where}.{code}", entry

    def arguments(entry: dict[str, Any], keys: dict[str, _Kind | str], where: str) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        for key, value in entry.items():
            if key not in keys:
                raise fail(f"{where}.{key}", f"unknown key (expected one of: {', '.join(keys)})")
            kind = keys[key]
            if kind == AMOUNTS:
                if not isinstance(value, dict):
                    raise fail(f"{where}.{key}", f"expected a table of numbers, got {_shown(value)}")
                for name, amount in value.items():
                    if not _is_number(amount):
                        raise fail(f"{where}.{key}.{name}", f"expected a number, got {_shown(amount)}")
                checked[key] = Jsonb(value, dumps=json_text)  # numbers exact
            elif kind == RULES:
                if not isinstance(value, dict):
                    raise fail(f"{where}.{key}", f"expected a table of tables, got {_shown(value)}")
                for name, rule in value.items():
                    if not isinstance(rule, dict):
                        raise fail(f"{where}.{key}.{name}", f"expected a table of numbers, got {_shown(rule)}")
                    for field, number in rule.items():
                        if not _is_number(number):
                            raise fail(f"{where}.{key}.{name}.{field}", f"expected a number, got {_shown(number)}")
                checked[key] = Jsonb(value, dumps=json_text)  # numbers exact; the database checks the rules
            else:
                assert isinstance(kind, tuple)
                if not kind[1](value):
                    raise fail(f"{where}.{key}", f"expected {kind[0]}, got {_shown(value)}")
                checked[key] = value
        return checked

    for section in document:
        if section not in SECTIONS:
            raise fail(section, f"unknown key (expected one of: {', '.join(SECTIONS)})")
    calls: list[CatalogCall] = []
    plan_features: list[CatalogCall] = []
    for code, where, entry in entries(document, "credit_types", "credit_types"):
        calls.append(CatalogCall(f"credit type {code}", "upsert_credit_type", "credit_types", {"code": code},
                                 arguments(entry, CREDIT_TYPE_KEYS, where), CREDIT_TYPE_KEYS))
    for code, where, entry in entries(document, "features", "features"):
        calls.append(CatalogCall(f"feature {code}", "upsert_feature", "features", {"code": code},
                                 arguments(entry, FEATURE_KEYS, where), FEATURE_KEYS))
    defaults: list[str] = []
    for code, where, entry in entries(document, "plans", "plans"):
        plan = {key: value for key, value in entry.items() if key != "features"}
        calls.append(CatalogCall(f"plan {code}", "upsert_plan", "plans", {"code": code},
                                 arguments(plan, PLAN_KEYS, where), PLAN_KEYS))
        if plan.get("is_default") is True:
            defaults.append(f"{where}.is_default")
        for feature, feature_where, settings in entries(entry, "features", f"{where}.features"):
            plan_features.append(CatalogCall(
                f"plan {code}, feature {feature}", "set_plan_feature", "plan_features",
                {"plan": code, "feature": feature}, arguments(settings, PLAN_FEATURE_KEYS, feature_where),
                PLAN_FEATURE_KEYS))
    if len(defaults) > 1:
        raise fail(defaults[1], f"only one plan can be the default, and {defaults[0]} is true too")
    auto_top_ups: list[CatalogCall] = []
    for account, where, _ in entries(document, "auto_top_ups", "auto_top_ups"):
        for credit_type, type_where, settings in entries(document["auto_top_ups"], account, where):
            auto_top_ups.append(CatalogCall(
                f"auto top-up of account {account}, credit type {credit_type}", "set_auto_top_up", "auto_top_ups",
                {"account_id": account, "credit_type": credit_type},
                arguments(settings, AUTO_TOP_UP_KEYS, type_where), AUTO_TOP_UP_KEYS, AUTO_TOP_UP_REQUIRED))
    return calls + plan_features + auto_top_ups


def apply_catalog(url: str, path: Path, report: Callable[[str], None] = print, *, replace: bool = False,
                  dry_run: bool = False) -> CatalogResult:
    """Apply a catalog file in one transaction: every entry, or none if one is refused.

    An existing entry changes only in the keys the file gives; with `replace`
    a key left out takes the SQL function's default (the file says the whole
    entry). Each entry is upserted in a savepoint; where the entry reads the
    same afterwards (timestamps aside) the savepoint is rolled back, so
    applying the same file twice changes nothing the second time. Each
    change is reported with what it changes; `dry_run` rolls everything back.
    """
    calls = read_catalog(path)
    result = CatalogResult()
    with psycopg.connect(url) as conn:
        with conn.transaction(force_rollback=dry_run):
            for call in calls:
                try:
                    outcome, changed = _upsert(conn, call, replace)
                except psycopg.DatabaseError as err:
                    raise OperationError(f"{path}: {call.label}: {_reason(err)}") from None
                except _Refused as err:
                    raise OperationError(f"{path}: {call.label}: {err}") from None
                if outcome == "unchanged":
                    result.unchanged += 1
                else:
                    result.changes.append((call.label, outcome, changed))
    # Said once committed (or rolled back, in a dry run): a refused file has changed nothing, and prints only its error.
    would = "would be " if dry_run else ""
    for label, outcome, changed in result.changes:
        report(f"{label}: {would}{outcome}" + (f" ({'; '.join(changed)})" if changed else ""))
    if result.changes:
        verb = "dry run, nothing written" if dry_run else "applied"
        report(f"{verb} {path}: {result.count('created')} {would}created, {result.count('updated')} {would}updated, "
               f"{result.unchanged} unchanged")
    else:
        report(f"{path}: nothing to change ({result.unchanged} entries already as the file says)")
    return result


def _upsert(conn: psycopg.Connection[Any], call: CatalogCall, replace: bool) -> tuple[str, list[str]]:
    """Run one catalog call: `created`, `updated` or `unchanged`, and for an update what changed.

    Without `replace`, a key the file leaves out of an existing entry is passed
    as the entry has it (read from the view, in SQL: values stay exact).
    """
    entry = sql.SQL("to_jsonb(e) - 'created_at' - 'updated_at'")
    where = sql.SQL(" and ").join(
        sql.SQL("e.{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in call.key
    )
    row = conn.execute(
        sql.SQL("select ({})::text from credits.{} e where {}").format(entry, sql.Identifier(call.view), where),
        call.key,
    ).fetchone()
    before = None if row is None else row[0]
    missing = [name for name in call.required if name not in call.arguments and (before is None or replace)]
    if missing:
        raise _Refused(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required"
                       + (" with --replace" if before is not None else " for a new entry"))
    arguments = {**call.key, **call.arguments}
    # The keys are the fixed names of *_KEYS, so they can be placeholders' names and literals.
    named = [(name, f"%({name})s") for name in arguments]
    if before is not None and not replace:
        for name, kind in call.keys.items():
            if name not in arguments:
                named.append((name, f"%(_before)s::jsonb -> {quote_literal(name)}" if kind in (AMOUNTS, RULES)
                              else f"(%(_before)s::jsonb ->> {quote_literal(name)})::{SQL_TYPES[kind]}"))
    function = named_call(f"credits.{quote_ident(call.function)}", named)
    with conn.transaction() as savepoint:
        # Compared in SQL, as jsonb: numbers stay exact and 0.5 equals 0.50.
        changed = conn.execute(
            sql.SQL("select coalesce(array_agg(format('%%s: %%s -> %%s', a.key, coalesce(b.value::text, 'none'),"
                    " a.value::text) order by a.key), '{{}}')"
                    " from {} e, jsonb_each({}) a"
                    " left join jsonb_each(%(_before)s::jsonb) b on b.key = a.key"
                    " where b.value is distinct from a.value").format(sql.SQL(function), entry),
            {**arguments, "_before": before},
        ).fetchone()
        assert changed is not None
        if before is not None and not changed[0]:
            raise psycopg.Rollback(savepoint)  # nothing to change: not even updated_at
        return ("created", []) if before is None else ("updated", list(changed[0]))
    return "unchanged", []


def _shown(value: Any) -> str:
    """A value as the error line shows it: its TOML kind and the value itself."""
    kinds = {bool: "a boolean", str: "a string", int: "an integer", Decimal: "a number", dict: "a table",
             list: "an array"}
    return f"{kinds.get(type(value), type(value).__name__)} ({value!r})" if not isinstance(value, dict) else "a table"


def _reason(err: psycopg.Error) -> str:
    """PostgreSQL's one-line message and SQLSTATE: what the SQL function refused, and why."""
    message = err.diag.message_primary or str(err).strip().splitlines()[0]
    return f"{message} ({err.diag.sqlstate})" if err.diag.sqlstate else message


# --- import -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRow:
    """One data line of an import file, as text: PostgreSQL reads the values."""

    line: int
    account_id: str
    plan: str
    amount: str
    expires_at: str = ""
    credit_type: str = ""  # empty: grant_credits' default, credits

    @property
    def idempotency_key(self) -> str:
        """`import:<account_id>:<hash of the row's values>`: the same row imports once, whatever its line.

        The credit type counts only when it is not the default, so a file written before the column existed,
        or with `credits` in it, keys its rows as they were keyed then: a re-run skips them.
        """
        values = f"{self.account_id}\x1f{self.plan}\x1f{self.amount}\x1f{self.expires_at}"
        if self.credit_type not in ("", DEFAULT_CREDIT_TYPE):
            values += f"\x1f{self.credit_type}"
        return f"import:{self.account_id}:{hashlib.sha256(values.encode()).hexdigest()[:16]}"


@dataclass
class ImportResult:
    """What `import_balances` did (or, in a dry run, would do)."""

    imported: int = 0
    skipped: int = 0
    refused: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.imported + self.skipped + len(self.refused)


def read_import(path: Path) -> tuple[list[ImportRow], list[str]]:
    """The rows of an import file, and the refusals of the lines that are not rows (wrong number of fields).

    A file whose header is not the columns account_id, plan, amount and
    optionally expires_at and credit_type, each once, in any order, is
    refused as a whole.
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise OperationError(f"{path}: cannot read: {err}") from None
    records = csv.reader(lines, strict=True)
    header = [name.strip() for name in next(records, [])]
    if (not set(IMPORT_REQUIRED) <= set(header) or not set(header) <= set(IMPORT_HEADER)
            or len(set(header)) != len(header)):
        raise OperationError(f"{path}: line 1: expected the header {','.join(IMPORT_HEADER)} (expires_at and "
                             f"credit_type may be left out), got {','.join(header)!r}")
    rows: list[ImportRow] = []
    refused: list[str] = []
    while True:
        try:
            record = next(records, None)
        except csv.Error as err:
            refused.append(f"line {records.line_num}: malformed line: {err}")
            continue
        if record is None:
            break
        if not any(value.strip() for value in record):
            continue  # a blank line
        if len(record) != len(header):
            refused.append(f"line {records.line_num}: malformed line: expected {len(header)} fields, "
                           f"got {len(record)}")
            continue
        rows.append(ImportRow(records.line_num, **{name: value.strip() for name, value in zip(header, record)}))
    return rows, refused


def import_balances(url: str, path: Path, *, dry_run: bool = False, report: Callable[[str], None] = print,
                    progress: TextIO | None = None, progress_every: int = PROGRESS_EVERY) -> ImportResult:
    """Import legacy balances: per row, open the account on its plan if missing, then one `migration` grant.

    Each row runs in a savepoint: a row PostgreSQL refuses is rolled back and
    reported with PostgreSQL's reason, the others go on. A real run commits
    every `progress_every` rows; a dry run does everything in one
    transaction and rolls it back. A row whose grant is already in the ledger
    (same idempotency key) is skipped, so a re-run imports nothing twice.
    Progress lines go to `progress` (default: standard error).
    """
    progress = progress or sys.stderr
    rows, refused = read_import(path)
    result = ImportResult(refused=refused)
    for refusal in refused:
        report(f"refused {refusal}")
    total = len(rows) + len(refused)
    with psycopg.connect(url) as conn:  # on an error or an interrupt: rolled back to the last commit
        for done, row in enumerate(rows, start=len(refused) + 1):
            outcome, line = _import_row(conn, row, path, dry_run)
            if outcome == "skipped":
                result.skipped += 1
            elif outcome == "refused":
                result.refused.append(line)
                report(f"refused {line}")
            else:
                result.imported += 1
                if dry_run:
                    report(line)
            if done % progress_every == 0 or done == total:
                if not dry_run:
                    conn.commit()
                print(f"import: {done} of {total} rows ({100 * done // total} %)", file=progress, flush=True)
        if dry_run:
            conn.rollback()
        else:
            conn.commit()
    verb = "would import" if dry_run else "imported"
    report(f"{path}: {verb} {result.imported}, skipped {result.skipped} (already imported), "
           f"refused {len(result.refused)}" + (" (dry run: nothing written)" if dry_run else ""))
    return result


def _import_row(conn: psycopg.Connection[Any], row: ImportRow, path: Path, dry_run: bool) -> tuple[str, str]:
    """Import one row in a savepoint: `skipped`, `refused` or `imported`, and a line saying what or why."""
    where = f"line {row.line} ({row.account_id})"
    key = row.idempotency_key
    if conn.execute(
        "select from credits.ledger where account_id = %s and idempotency_key = %s", [row.account_id, key]
    ).fetchone() is not None:
        return "skipped", f"{where}: already imported"
    try:
        with conn.transaction():
            existing = conn.execute(
                "select plan from credits.accounts where account_id = %s", [row.account_id]
            ).fetchone()
            if existing is not None and existing[0] != row.plan:
                # An import sets opening balances: it does not move an account to another plan.
                return "refused", f"{where}: account {row.account_id} is on plan {existing[0]}, not {row.plan}"
            if existing is None:
                conn.execute("select from credits.open_account(account_id => %s, plan => %s)",
                             [row.account_id, row.plan or None])
            # A credit type left empty is not sent: grant_credits' default applies.
            granted = conn.execute(
                "select grant_id, available from credits.grant_credits(account_id => %s, amount => %s,"
                " source => %s, expires_at => %s, idempotency_key => %s, reason => %s"
                + (", credit_type => %s)" if row.credit_type else ")"),
                [row.account_id, row.amount or None, IMPORT_SOURCE, row.expires_at or None, key,
                 f"import from {path.name}", *([row.credit_type] if row.credit_type else [])],
            ).fetchone()
    except psycopg.DatabaseError as err:
        if conn.broken or not err.diag.sqlstate:
            raise
        return "refused", f"{where}: {_reason(err)}"
    assert granted is not None
    opened = "" if existing is not None else f"open on plan {row.plan}, "
    expiry = f" expiring {row.expires_at}" if row.expires_at else ""
    credit_type = f" {row.credit_type}" if row.credit_type else ""
    verb = "would " if dry_run else ""
    return "imported", (f"{where}: {verb}{opened}grant {row.amount}{credit_type}{expiry} "
                        f"(grant {granted[0]}, available {granted[1]})")


# --- report -----------------------------------------------------------------------------------------------------------

# Every query of the report reads the UTC days from %(start)s to %(end)s, both included.
TOP_CONSUMERS = """
select rank, account_id, credit_type, credits_used, calls
from (select rank() over (partition by credit_type order by sum(credits) desc) as rank,
             account_id, credit_type, sum(credits) as credits_used, sum(calls)::bigint as calls
      from credits.account_usage_daily
      where day between %(start)s and %(end)s
      group by account_id, credit_type) ranked
where rank <= %(limit)s
order by credit_type, rank, account_id
"""
# Per feature: calls and credits net of refunds (usage_daily), and what one call cost (the debits and captures).
USAGE = """
with usage as (
  select feature, credit_type, sum(calls)::bigint as calls, sum(credits) as credits
  from credits.usage_daily
  where day between %(start)s and %(end)s
  group by feature, credit_type
), per_call as (
  select feature, credit_type, round(avg(-amount), 6) as avg_cost, min(-amount) as min_cost,
         max(-amount) as max_cost
  from credits.ledger
  where kind in ('debit', 'capture') and (created_at at time zone 'UTC')::date between %(start)s and %(end)s
  group by feature, credit_type
)
select u.feature, u.credit_type, u.calls, u.credits, p.avg_cost, p.min_cost, p.max_cost
from usage u
left join per_call p using (feature, credit_type)
order by u.credits desc, u.feature, u.credit_type
"""
# Calls that cost at least %(factor)s times the median call of their feature and credit type.
OUTLIERS = """
with calls as (
  select transaction_id, account_id, feature, credit_type, -amount as charged, created_at
  from credits.ledger
  where kind in ('debit', 'capture') and (created_at at time zone 'UTC')::date between %(start)s and %(end)s
), medians as (
  select feature, credit_type, percentile_cont(0.5) within group (order by charged)::numeric as median
  from calls
  group by feature, credit_type
)
select c.transaction_id, c.account_id, c.feature, c.credit_type, c.charged, round(m.median, 6) as median,
       round(c.charged / m.median, 1) as times
from calls c
join medians m using (feature, credit_type)
where m.median > 0 and c.charged >= %(factor)s * m.median
order by c.charged / m.median desc, c.transaction_id
limit %(limit)s
"""
RECONCILIATION = "select * from credits.reconciliation order by account_id, credit_type"
# The default range: the 30 UTC days up to today, as credits.now() tells it.
DEFAULT_RANGE = """
select coalesce(%(start)s::date, coalesce(%(end)s::date, (credits.now() at time zone 'UTC')::date) - 29),
       coalesce(%(end)s::date, (credits.now() at time zone 'UTC')::date)
"""


def report(url: str, table: Callable[[PGresult], str], *, start: date | None = None, end: date | None = None,
           limit: int = 10, outlier_factor: Decimal = Decimal(3)) -> str:
    """The report from `start` to `end` (UTC days) as text tables: top consumers, usage and cost per call by
    feature, outliers (calls costing at least `outlier_factor` times their feature's median) and reconciliation
    drift.

    `table` lays out one result (the CLI passes its psql-like layout).
    """
    with psycopg.connect(url) as conn:
        conn.read_only = True
        dates = conn.execute(DEFAULT_RANGE, {"start": start, "end": end}).fetchone()
        assert dates is not None
        start, end = dates
        if start > end:
            raise OperationError(f"--from {start} is after --to {end}")
        if outlier_factor <= 1:
            raise OperationError(f"--outlier-factor must be above 1, not {outlier_factor}")
        days = {"start": start, "end": end}
        span = f"{start} to {end} (UTC)"
        sections = [
            (f"Top consumers, {span} (top {limit} per credit type)",
             _result(conn, TOP_CONSUMERS, {**days, "limit": limit})),
            (f"Usage by feature, {span}: calls, credits net of refunds, cost per call",
             _result(conn, USAGE, days)),
            (f"Outliers, {span}: calls costing {outlier_factor} times their feature's median or more (top {limit})",
             _result(conn, OUTLIERS, {**days, "factor": outlier_factor, "limit": limit})),
            ("Reconciliation drift", _result(conn, RECONCILIATION, {})),
        ]
    text = []
    for title, result in sections:
        empty = result.ntuples == 0 and title.startswith(("Reconciliation", "Outliers"))
        text += [title, "none" if empty else table(result), ""]
    return "\n".join(text).rstrip() + "\n"


def _result(conn: psycopg.Connection[Any], query: str, params: dict[str, Any]) -> PGresult:
    cursor = conn.execute(query, params)
    assert cursor.pgresult is not None
    return cursor.pgresult
