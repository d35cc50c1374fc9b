"""`pgcredits migrate` and the layout of db/migrations."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from pgcredits.migrate import db_dir, migrate, yoyo_url


def test_every_migration_has_a_rollback() -> None:
    migrations = sorted((db_dir() / "migrations").glob("*.sql"))
    forward = [path for path in migrations if not path.name.endswith(".rollback.sql")]
    assert forward, "db/migrations holds no migration"
    missing = [path.name for path in forward if not path.with_suffix(".rollback.sql").exists()]
    assert missing == []


def test_migrating_again_applies_only_the_function_files(db: str) -> None:
    result = migrate(db)

    assert result.applied == []
    assert result.function_files == len(list((db_dir() / "functions").glob("*.sql")))


def test_yoyo_url_passes_every_parameter_to_psycopg() -> None:
    url = yoyo_url("postgresql://app:p%40ss@/ledger?host=/run/postgresql&port=5433&sslmode=disable")

    assert url.startswith("postgresql+psycopg://?")
    assert dict(parse_qsl(urlsplit(url).query)) == {
        "user": "app",
        "password": "p@ss",
        "host": "/run/postgresql",
        "port": "5433",
        "dbname": "ledger",
        "sslmode": "disable",
    }
