"""The `pgcredits` command: its arguments, and which module does each command.

`up`, `down` and `token` are development tooling (`pgcredits.dev.up`);
`serve`, `up` and `token` need the gateway's extra, and say so without it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg.pq.abc import PGresult

from pgcredits.dev.cluster import ClusterError
from pgcredits.dev.up import LocalError
from pgcredits.migrate import MigrateError, describe, migrate, rollback, schedule_jobs
from pgcredits.operations import OperationError, apply_catalog, import_balances, report
from pgcredits.sqltext import CALLER_ROLES

DURATION = re.compile(r"(\d+)([smhd]?)")
DURATION_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
NUMERIC_TYPES = {20, 21, 23, 26, 700, 701, 1700}  # psql aligns these types' columns right
# What `pip install 'pgcredits[gateway]'` adds (pyproject.toml): `serve`, `up` and `token` import them.
GATEWAY_EXTRA = "pip install 'pgcredits[gateway]'"
GATEWAY_MODULES = frozenset({"asyncpg", "starlette", "uvicorn", "uvloop", "httptools", "jwt", "prometheus_client"})


class UsageError(Exception):
    """The command line or the environment asks for something impossible."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.handler(args)
    except (UsageError, LocalError, ClusterError, MigrateError, OperationError, OSError) as err:
        return _fail(str(err))
    except psycopg.Error as err:
        return _fail(describe(err))
    except KeyboardInterrupt:
        return 130
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgcredits", description="A credits ledger that lives in PostgreSQL.")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    def database_url(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--database-url",
            default=os.environ.get("DATABASE_URL"),
            help="postgresql:// URL (default: $DATABASE_URL)",
        )

    up = commands.add_parser("up", help="start the local cluster in .pgcredits/, migrated, with the example catalog")
    up.set_defaults(handler=_up)
    down = commands.add_parser("down", help="stop the local cluster")
    down.set_defaults(handler=_down)

    token = commands.add_parser(
        "token", help="print a development JWT for the gateway, signed with the local secret of `pgcredits up`")
    token.add_argument("--sub", help="the account the token acts for (required for credits_user)")
    token.add_argument("--role", choices=CALLER_ROLES, default="credits_user", help="its role (default: credits_user)")
    token.add_argument("--ttl", type=_duration, default=3600,
                       help="how long it is valid: seconds, or a number with s, m, h or d (default: 1h)")
    token.set_defaults(handler=_token)

    migrate_ = commands.add_parser("migrate", help="apply pending migrations, then every function file")
    database_url(migrate_)
    migrate_.add_argument("--citus", action="store_true", default=None,
                          help="lay the schema out for a Citus coordinator (db/citus/); "
                               "the default when the citus extension is installed")
    migrate_.set_defaults(handler=_migrate)

    rollback_ = commands.add_parser("rollback", help="roll back the newest applied migrations")
    database_url(rollback_)
    how_many = rollback_.add_mutually_exclusive_group()
    how_many.add_argument("--count", type=_positive, help="how many (default: 1)")
    how_many.add_argument("--all", action="store_true", help="every applied migration")
    rollback_.set_defaults(handler=_rollback)

    jobs = commands.add_parser("jobs", help="the pg_cron jobs")
    jobs_commands = jobs.add_subparsers(title="jobs commands", required=True, metavar="JOBS_COMMAND")
    install = jobs_commands.add_parser(
        "install", help="install or update the pg_cron jobs (credits.schedule_jobs()), run as the connecting role"
    )
    database_url(install)
    install.set_defaults(handler=_jobs_install)

    catalog = commands.add_parser(
        "catalog", help="the catalog of credit types, features and plans (and accounts' auto top-ups)")
    catalog_commands = catalog.add_subparsers(title="catalog commands", required=True, metavar="CATALOG_COMMAND")
    apply = catalog_commands.add_parser("apply", help="apply a TOML catalog file in one transaction, idempotently")
    apply.add_argument("file", type=Path, help="the catalog file (docs/operations.md; examples/catalog.toml)")
    apply.add_argument("--dry-run", action="store_true", help="print what would change and write nothing")
    apply.add_argument("--replace", action="store_true",
                       help="an entry the file names is replaced whole: a key it leaves out takes its default "
                            "(without it, only the keys the file gives change)")
    database_url(apply)
    apply.set_defaults(handler=_catalog_apply)

    import_ = commands.add_parser("import", help="import opening balances from a legacy system (a CSV file)")
    import_.add_argument("file", type=Path,
                         help="CSV with the header account_id,plan,amount[,expires_at][,credit_type]")
    import_.add_argument("--dry-run", action="store_true", help="print what would change and write nothing")
    database_url(import_)
    import_.set_defaults(handler=_import)

    report_ = commands.add_parser(
        "report", help="top consumers, usage and cost per call by feature, outliers, reconciliation drift")
    report_.add_argument("--from", dest="start", type=_date, help="first UTC day of usage (default: --to less 29 days)")
    report_.add_argument("--to", dest="end", type=_date, help="last UTC day of usage (default: today)")
    report_.add_argument("--limit", type=_positive, default=10,
                         help="top consumers per credit type, and outliers (default: 10)")
    report_.add_argument("--outlier-factor", type=_decimal, default=Decimal(3),
                         help="an outlier costs at least this many times its feature's median call (default: 3)")
    database_url(report_)
    report_.set_defaults(handler=_report)

    serve_ = commands.add_parser("serve", help="serve the HTTP gateway (docs/gateway.md) until Ctrl-C")
    database_url(serve_)
    serve_.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve_.add_argument("--port", type=_positive, default=8000, help="port to listen on (default: 8000)")
    serve_.add_argument("--listen-url", default=os.environ.get("PGCREDITS_LISTEN_URL"),
                        help="PostgreSQL URL for the LISTEN connection of /events when --database-url is a "
                             "transaction pooler (default: $PGCREDITS_LISTEN_URL, else --database-url)")
    serve_.add_argument("--dev", action="store_true",
                        help="also serve the widget's demo at /demo, which mints tokens for the sample account "
                             "(development only: never in production)")
    serve_.add_argument("--workers", type=_positive, default=1,
                        help="processes serving the port, each with its own pools and LISTEN connection (default: 1)")
    serve_.add_argument("--pool-size", type=_positive, default=None,
                        help="database connections for calls, per worker (default: $PGCREDITS_POOL_SIZE, else 10)")
    serve_.add_argument("--access-log", action="store_true", help="log a line per request")
    serve_.set_defaults(handler=_serve)
    return parser


@contextmanager
def _gateway_extra(command: str) -> Iterator[None]:
    """Imports of the gateway's modules: a missing dependency of theirs says how to install the extra."""
    try:
        yield
    except ModuleNotFoundError as err:
        if (err.name or "").partition(".")[0] not in GATEWAY_MODULES:
            raise
        raise UsageError(f"`pgcredits {command}` needs the gateway's dependencies ({err.name} is not installed): "
                         f"{GATEWAY_EXTRA}") from None


def _serve(args: argparse.Namespace) -> None:
    with _gateway_extra("serve"):
        from pgcredits.gateway.app import serve
        from pgcredits.gateway.auth import GatewayConfigError, check_auth_environment

    url = _required_url(args)
    if args.dev and not os.environ.get("PGCREDITS_JWT_SECRET"):
        raise UsageError("--dev mints the demo's tokens with PGCREDITS_JWT_SECRET: set it")
    # Every worker reads its settings from the environment (one process or several alike).
    if args.listen_url:
        os.environ["PGCREDITS_LISTEN_URL"] = args.listen_url
    if args.pool_size is not None:
        os.environ["PGCREDITS_POOL_SIZE"] = str(args.pool_size)
    if args.dev:
        os.environ["PGCREDITS_DEV"] = "1"
        print(f"demo:         http://{args.host}:{args.port}/demo  (--dev: development only)", flush=True)
    try:
        check_auth_environment()
        serve(url, args.host, args.port, workers=args.workers, access_log=args.access_log)
    except (GatewayConfigError, ValueError) as err:
        raise UsageError(str(err)) from None


def _migrate(args: argparse.Namespace) -> None:
    migrate(_required_url(args), report=print, citus=args.citus)


def _rollback(args: argparse.Namespace) -> None:
    if not rollback(_required_url(args), count=None if args.all else args.count or 1, report=print):
        print("no applied migration to roll back")


def _jobs_install(args: argparse.Namespace) -> None:
    jobs = schedule_jobs(_required_url(args))
    width = max(len(job.job_name) for job in jobs)
    for job in jobs:
        print(f"{job.job_name.ljust(width)}  {job.schedule.ljust(11)}  {job.command}")


def _catalog_apply(args: argparse.Namespace) -> None:
    apply_catalog(_required_url(args), args.file, replace=args.replace, dry_run=args.dry_run)


def _import(args: argparse.Namespace) -> None:
    result = import_balances(_required_url(args), args.file, dry_run=args.dry_run)
    if result.refused:
        raise OperationError(f"{len(result.refused)} of {result.total} rows of {args.file} refused (listed above)")


def _report(args: argparse.Namespace) -> None:
    print(report(_required_url(args), _table, start=args.start, end=args.end, limit=args.limit,
                 outlier_factor=args.outlier_factor), end="")


def _up(args: argparse.Namespace) -> None:
    with _gateway_extra("up"):
        from pgcredits.dev.up import up

        up(_table)


def _token(args: argparse.Namespace) -> None:
    with _gateway_extra("token"):
        from pgcredits.dev.up import token

        print(token(args.role, args.sub, args.ttl))


def _down(args: argparse.Namespace) -> None:
    from pgcredits.dev.up import down

    down()


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, not {text!r}") from None


def _duration(text: str) -> int:
    match = DURATION.fullmatch(text)
    if match is None or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(f"expected a duration such as 3600, 90m, 12h or 30d, not {text!r}")
    return int(match[1]) * DURATION_SECONDS[match[2]]


def _table(result: PGresult) -> str:
    """A result laid out as psql does, from the text PostgreSQL sent."""
    columns = [(result.fname(c) or b"").decode() for c in range(result.nfields)]
    rows = [[(result.get_value(r, c) or b"").decode() for c in range(result.nfields)] for r in range(result.ntuples)]
    numeric = [result.ftype(c) in NUMERIC_TYPES for c in range(result.nfields)]
    widths = [max(map(len, column)) for column in zip(columns, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "|".join(
            f" {cell.rjust(width) if right else cell.ljust(width)} "
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        )

    lines = [
        "|".join(f" {name.center(width)} " for name, width in zip(columns, widths, strict=True)),
        "+".join("-" * (width + 2) for width in widths),
        *map(line, rows),
        f"({len(rows)} row{'' if len(rows) == 1 else 's'})",
    ]
    return "\n".join(text.rstrip() for text in lines)


def _required_url(args: argparse.Namespace) -> str:
    if not args.database_url:
        raise UsageError("no database: pass --database-url or set DATABASE_URL")
    return str(args.database_url)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return int(text)


def _fail(message: str) -> int:
    print(f"pgcredits: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
