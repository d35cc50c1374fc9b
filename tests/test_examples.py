"""Every example in examples/ runs against a fresh database and prints exactly its committed output.

Each example gets its own fresh migrated database with the example catalog
(db/catalog/example.sql) and the clock override allowed; the examples fix
the clock themselves, so their output needs no masking. After a deliberate
change, rewrite the outputs with

    UPDATE_EXAMPLES=1 .venv/bin/pytest tests/test_examples.py

and read the diff before committing it (examples/README.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from pgcredits.migrate import db_dir

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SQL_EXAMPLES = sorted(EXAMPLES.glob("*.sql"))
PYTHON_EXAMPLES = sorted(EXAMPLES.glob("*.py"))
UPDATE = os.environ.get("UPDATE_EXAMPLES") == "1"


def example_env(**extra: str) -> dict[str, str]:
    """The environment of an example: no PG* variable of the caller's, messages in English."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
    return {**env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", **extra}


def expected_output(example: Path) -> Path:
    """01_quickstart.sql -> 01_quickstart.out; quickstart.py -> quickstart.py.out."""
    return example.with_suffix(".out") if example.suffix == ".sql" else example.with_name(example.name + ".out")


def compare(example: Path, output: str) -> None:
    committed = expected_output(example)
    if UPDATE:
        committed.write_text(output)
    assert committed.exists(), f"{committed.name} is missing: UPDATE_EXAMPLES=1 .venv/bin/pytest {__file__}"
    assert output == committed.read_text(), (
        f"{example.name} no longer prints {committed.name}; if the change is meant, "
        "rewrite it with UPDATE_EXAMPLES=1 and review the diff"
    )


@pytest.fixture
def example_db(db: str) -> str:
    """A fresh database with the example catalog, as `pgcredits up` leaves it (plus the clock override)."""
    with psycopg.connect(db) as conn:
        conn.execute((db_dir() / "catalog" / "example.sql").read_bytes())
    return db


def test_the_examples_are_all_there() -> None:
    assert [path.name for path in SQL_EXAMPLES][:3] == ["01_quickstart.sql", "02_holds.sql", "03_subscription.sql"]
    assert [path.name for path in PYTHON_EXAMPLES] == ["quickstart.py"]
    outputs = {path.name for path in EXAMPLES.glob("*.out")}
    assert outputs == {expected_output(path).name for path in SQL_EXAMPLES + PYTHON_EXAMPLES}


@pytest.mark.parametrize("example", SQL_EXAMPLES, ids=lambda path: path.name)
def test_sql_example(example: Path, example_db: str) -> None:
    psql = shutil.which("psql")
    assert psql is not None, "psql is not on PATH (Debian: apt-get install postgresql-client-15)"
    result = subprocess.run(
        [psql, "-X", "-a", "-f", example.name, "--dbname", example_db],
        cwd=EXAMPLES, env=example_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout
    compare(example, result.stdout)


@pytest.mark.parametrize("example", PYTHON_EXAMPLES, ids=lambda path: path.name)
def test_python_example(example: Path, example_db: str) -> None:
    result = subprocess.run(
        [sys.executable, example.name],
        cwd=EXAMPLES, env=example_env(DATABASE_URL=example_db), capture_output=True, text=True, check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    compare(example, result.stdout)
