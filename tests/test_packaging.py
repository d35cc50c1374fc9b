"""What `pip install pgcredits` gets: the SQL inside the wheel, and a library that needs no gateway to run.

The wheel is built from a copy of the sources (pyproject.toml, python/, db/),
so the worktree gets no build/ or egg-info; it is a pure-Python wheel, so
unpacking it is installing it: `pgcredits migrate` then runs from the
unpacked copy, without the repository, on a fresh database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from pgcredits.migrate import db_dir, function_files, migrate
from tests.test_migrate import definitions, fresh_db, migration_ids, open_an_account

__all__ = ["fresh_db"]  # a fixture of tests/test_migrate.py, used here

REPO = Path(__file__).resolve().parents[1]
# What `pgcredits migrate` and `pgcredits up` read, as the wheel holds it (pyproject.toml, package pgcredits.sql).
SQL_IN_WHEEL = ("migrations", "functions", "catalog", "citus")
# The gateway's dependencies (the extra pgcredits[gateway]); the library imports none of them.
GATEWAY_MODULES = ("asyncpg", "starlette", "uvicorn", "uvloop", "httptools", "jwt", "prometheus_client")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the sources, as `pip wheel . --no-deps` builds it (with the venv's setuptools)."""
    source = tmp_path_factory.mktemp("source")
    shutil.copy(REPO / "pyproject.toml", source)
    for folder in ("python", "db"):
        shutil.copytree(REPO / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("wheel")
    # The dev extra installs the build backend pyproject.toml names: no isolated build environment to make.
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                    "--check-build-dependencies", "--quiet", "-w", str(out)],
                   check=True, capture_output=True, text=True, timeout=300)
    (built,) = out.glob("pgcredits-*.whl")
    return built


def test_the_wheel_holds_every_module_and_the_sql_migrate_needs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = REPO / "python" / "pgcredits"
    modules = {f"pgcredits/{path.relative_to(package).as_posix()}" for path in package.rglob("*.py")}
    sql = {f"pgcredits/sql/{path.relative_to(db_dir()).as_posix()}"
           for folder in SQL_IN_WHEEL for path in (db_dir() / folder).rglob("*.sql")}

    assert modules - names == set()  # pyproject.toml lists every package
    assert len(sql) > 60 and sql - names == set()
    assert "pgcredits/sql/README.md" in names  # the map of db/ travels with it
    assert not [name for name in names if name.startswith("pgcredits/sql/tests/")]  # pgTAP stays in the repo


def test_migrate_from_the_installed_wheel_alone_builds_what_the_repository_does(
        wheel: Path, fresh_db: str, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"  # no db/ anywhere near: the SQL must come from the package
    elsewhere.mkdir()
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(site)!r})
        import pgcredits, pgcredits.migrate
        from pgcredits.cli import main
        print("package:", pgcredits.__file__)
        print("sql:", pgcredits.migrate.db_dir())
        sys.exit(main(["migrate"]))
    """)
    env = {key: value for key, value in os.environ.items() if key != "PGCREDITS_DB_DIR"}
    run = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env={**env, "DATABASE_URL": fresh_db},
                         capture_output=True, text=True, timeout=300)

    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"package: {site / 'pgcredits' / '__init__.py'}"
    assert lines[1] == f"sql: {site / 'pgcredits' / 'sql'}"
    assert [line.removeprefix("applied ") for line in lines if line.startswith("applied 0")] == migration_ids()
    assert f"applied {len(function_files())} function files" in lines
    # The repository's db/ finds nothing left to apply, and re-creating its functions changes none of them.
    before = definitions(fresh_db)
    assert migrate(fresh_db).applied == []
    assert definitions(fresh_db) == before
    assert open_an_account(fresh_db, "u_wheel") == [("credits", 6)]


def test_the_library_and_migrate_run_without_the_gateway_dependencies(fresh_db: str) -> None:
    """`import pgcredits`, the blocking client and `pgcredits migrate` need none of them; `serve` says what to
    install; AsyncCredits names its driver."""
    script = textwrap.dedent(f"""
        import importlib.abc, sys
        class Missing(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in {GATEWAY_MODULES!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, Missing())
        from pgcredits import AsyncCredits, Credits
        from pgcredits.cli import main
        assert main(["migrate", "--database-url", sys.argv[1]]) == 0
        with Credits(sys.argv[1]) as credits:
            credits.upsert_credit_type("credits")
            credits.upsert_plan("free", signup_grant={{"credits": 6}})
            print("opened:", credits.open_account("u_plain").opened)
            print("balance:", [str(row.available) for row in credits.get_balance("u_plain")])
        try:
            AsyncCredits(sys.argv[1])
        except ModuleNotFoundError as err:
            print("async:", err)
        print("serve:", main(["serve", "--database-url", sys.argv[1]]))
        print("token:", main(["token", "--role", "credits_service"]))
        print("loaded:", sorted(set(sys.modules) & set({GATEWAY_MODULES!r})))
    """)
    run = subprocess.run([sys.executable, "-c", script, fresh_db], capture_output=True, text=True, timeout=300)

    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "opened: True" in lines
    assert "balance: ['6.000000']" in lines
    assert "async: AsyncCredits needs asyncpg: pip install 'pgcredits[async]'" in lines
    assert "serve: 1" in lines and "token: 1" in lines
    assert "loaded: []" in lines
    assert run.stderr.splitlines() == [
        "pgcredits: error: `pgcredits serve` needs the gateway's dependencies (asyncpg is not installed): "
        "pip install 'pgcredits[gateway]'",
        "pgcredits: error: `pgcredits token` needs the gateway's dependencies (jwt is not installed): "
        "pip install 'pgcredits[gateway]'",
    ]
