"""The documents a new user reads (issue 17 item 12): the contract is in the repository, nothing cites a file
outside it, the contract names every public function and view, and examples/README.md's recipe for running the
examples on a fresh database runs as written and finds every output as committed."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from pgcredits.dev.cluster import Cluster

REPO = Path(__file__).resolve().parent.parent
CONTRACT = REPO / "docs" / "contract.md"
# Files outside the repository that the project once cited (spelled so that this file does not cite them).
OUTSIDE = ("../" + "shared", "SPEC" + ".md", "STYLE" + ".md")


def test_no_file_cites_a_file_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    citing = []
    for name in tracked.splitlines():
        path = REPO / name
        if not path.is_file() or path.suffix in (".png",):
            continue
        text = path.read_text(errors="replace")
        citing += [f"{name}: {cited}" for cited in OUTSIDE if cited in text]
    assert citing == []


def test_the_contract_names_every_public_function_and_view(connect: Callable[..., psycopg.Connection[Any]]) -> None:
    contract = CONTRACT.read_text()
    names = connect().execute(
        "select p.proname::text from pg_proc p where p.pronamespace = 'credits'::regnamespace"
        " union select c.relname::text from pg_class c where c.relnamespace = 'credits'::regnamespace"
    ).fetchall()
    missing = [name for (name,) in names if not re.search(rf"`{name}[`(]", contract)]
    assert len(names) > 40 and missing == []


def test_the_examples_recipe_runs_on_a_fresh_database(pg_cluster: Cluster, template_db: str) -> None:
    readme = (REPO / "examples" / "README.md").read_text()
    (recipe,) = re.findall(r"```sh\n(BASE=.*?)```", readme, flags=re.DOTALL)
    env = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
    try:
        result = subprocess.run(["bash", "--noprofile", "--norc", "-c", recipe.replace("54329", str(pg_cluster.port))],
                                cwd=REPO, env={**env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}, capture_output=True,
                                text=True, timeout=300, check=False)
    finally:
        with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
            admin.execute("drop database if exists examples with (force)")
    assert (result.stdout.splitlines(), result.stderr) == ([
        "01_quickstart.sql prints 01_quickstart.out",
        "02_holds.sql prints 02_holds.out",
        "03_subscription.sql prints 03_subscription.out",
        "04_corrections.sql prints 04_corrections.out",
        "05_team_pool.sql prints 05_team_pool.out",
        "06_billing_depth.sql prints 06_billing_depth.out",
        "07_rollover.sql prints 07_rollover.out",
        "08_overdraft.sql prints 08_overdraft.out",
        "quickstart.py prints quickstart.py.out",
    ], "")


def test_every_errcode_is_documented_and_has_its_class() -> None:
    """Issue 12: one catalogue of errors, in docs/errors.md and pgcredits.errors, for every errcode raised."""
    from pgcredits.errors import error_class

    raised = {m.group(1) for path in (REPO / "db" / "functions").rglob("*.sql")
              for m in re.finditer(r"errcode = '([0-9A-Z]{5})'", path.read_text())}
    assert {"PT404", "PT409", "PT422", "42501"} <= raised
    documented = set(re.findall(r"^\| `([0-9A-Z]{5})` \|", (REPO / "docs" / "errors.md").read_text(), re.M))
    assert raised - documented == set(), "errcodes raised but not in docs/errors.md"
    unmapped = {code for code in raised if error_class(code).sqlstate != code}
    assert unmapped == set(), "errcodes raised without their class in pgcredits.errors"
