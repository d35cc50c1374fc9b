"""`pgcredits catalog apply`, `import` and `report` against a real database (docs/operations.md)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgcredits.cli import main
from pgcredits.migrate import db_dir
from pgcredits.operations import import_balances

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "examples" / "catalog.toml"
CATALOG_VIEWS = ("credit_types", "features", "plans", "plan_features")
# The catalog as plain rows, timestamps aside: what the SQL file and the TOML file must agree on.
CATALOG_SNAPSHOT = " union all ".join(
    f"select '{view}', (to_jsonb(v) - 'created_at' - 'updated_at')::text from credits.{view} v"
    for view in CATALOG_VIEWS
)
Connect = Callable[..., psycopg.Connection[Any]]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`pgcredits *argv` in this process: exit status, stdout, stderr."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def snapshot(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    return sorted(conn.execute(CATALOG_SNAPSHOT).fetchall())


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- catalog apply ----------------------------------------------------------------------------------------------------


def test_catalog_apply_twice_changes_nothing_the_second_time(db: str, connect: Connect,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    # migrations create it, with another description
    assert lines[0] == 'credit type credits: updated (description: "The default credit type" -> "General-purpose credits")'
    assert lines[1] == "feature roast: created"
    assert "plan free, feature video_render: created" in lines
    assert lines[-1] == f"applied {CATALOG}: 19 created, 1 updated, 0 unchanged"

    conn = connect(autocommit=True)
    stamps = conn.execute("select max(updated_at) from credits.plan_features").fetchone()
    status, out, err = run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)
    assert (status, err) == (0, "")
    assert out == f"{CATALOG}: nothing to change (20 entries already as the file says)\n"
    assert conn.execute("select max(updated_at) from credits.plan_features").fetchone() == stamps


def test_catalog_file_is_the_example_catalog(db: str, connect: Connect, capsys: pytest.CaptureFixture[str]) -> None:
    """examples/catalog.toml and db/catalog/example.sql describe the same catalog, entry for entry."""
    conn = connect(autocommit=True)
    assert run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)[0] == 0
    from_toml = snapshot(conn)
    conn.execute((db_dir() / "catalog" / "example.sql").read_bytes())
    assert snapshot(conn) == from_toml
    # And nothing in the TOML file is missing from the SQL file: applied over it, it finds nothing to do.
    status, out, _ = run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)
    assert (status, out) == (0, f"{CATALOG}: nothing to change (20 entries already as the file says)\n")


def test_catalog_apply_reports_a_change(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)[0] == 0
    changed = write(tmp_path, "catalog.toml", CATALOG.read_text().replace("period_limit = 3", "period_limit = 5"))
    status, out, _ = run(capsys, "catalog", "apply", str(changed), "--database-url", db)
    assert status == 0
    assert out.splitlines() == [
        "plan free, feature video_render: updated (period_limit: 3 -> 5)",
        f"applied {changed}: 0 created, 1 updated, 19 unchanged",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[plans.free]\nsignup_grnat = { credits = 6 }\n',
         ("plans.free.signup_grnat: unknown key (expected one of: signup_grant, monthly_allowance, daily_allowance, "
         "unlimited, description, is_default, rollover, overdraft)")),
        ('[plans.pro]\noverdraft = { credits = "50" }\n',
         "plans.pro.overdraft.credits: expected a number, got a string ('50')"),
        ("[plans.pro]\nrollover = { credits = 5 }\n",
         "plans.pro.rollover.credits: expected a table of numbers, got an integer (5)"),
        ('[plans.pro]\nrollover = { credits = { max = "all" } }\n',
         "plans.pro.rollover.credits.max: expected a number, got a string ('all')"),
        ('[features.roast]\nbase_cost = "1"\n', "features.roast.base_cost: expected a number, got a string ('1')"),
        ("[features.chat]\nunit_rates = { input_tokens = true }\n",
         "features.chat.unit_rates.input_tokens: expected a number, got a boolean (True)"),
        ("[plans.free.features.roast]\nperiod_limit = 2.5\n",
         "plans.free.features.roast.period_limit: expected an integer, got a number (Decimal('2.5'))"),
        ("[planz.free]\n", "planz: unknown key (expected one of: credit_types, features, plans, auto_top_ups)"),
        ("[plans.free]\nis_default = true\n[plans.pro]\nis_default = true\n",
         "plans.pro.is_default: only one plan can be the default, and plans.free.is_default is true too"),
        ("[features.roast\n", "not valid TOML: Expected ']' at the end of a table declaration (at line 4, column 16)"),
    ],
)
def test_a_broken_catalog_file_is_one_line_and_writes_nothing(
    db: str, connect: Connect, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    # Valid entries first: the file is checked as a whole before anything is written.
    path = write(tmp_path, "broken.toml", '[credit_types.credits]\n[features.tts]\nbase_cost = 0\n' + text)
    conn = connect(autocommit=True)
    before = snapshot(conn)
    status, out, err = run(capsys, "catalog", "apply", str(path), "--database-url", db)
    assert (status, out) == (1, "")
    assert err == f"pgcredits: error: {path}: {problem}\n"
    assert snapshot(conn) == before


def test_a_partial_entry_changes_only_the_keys_it_names(db: str, connect: Connect, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 17: a file naming an existing plan without its allowances used to reset them to {}."""
    assert run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)[0] == 0
    partial = write(tmp_path, "partial.toml", '[plans.pro]\ndescription = "Pro, now with more"\n'
                                             '[plans.free.features.video_render]\nenabled = true\n')
    status, out, err = run(capsys, "catalog", "apply", str(partial), "--database-url", db)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        'plan pro: updated (description: "Pro: 500 credits a month, non-cumulative" -> "Pro, now with more")',
        f"applied {partial}: 0 created, 1 updated, 2 unchanged",  # plan free and its video_render as they were
    ]
    conn = connect(autocommit=True)
    assert conn.execute("select monthly_allowance::text, description from credits.plans where code = 'pro'"
                        ).fetchone() == ('{"credits": 500}', "Pro, now with more")
    assert conn.execute("select period_limit from credits.plan_features where plan = 'free' and feature = 'video_render'"
                        ).fetchone() == (3,)


def test_replace_takes_the_whole_entry_from_the_file(db: str, connect: Connect, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)[0] == 0
    partial = write(tmp_path, "partial.toml", '[plans.pro]\ndescription = "Pro"\n')
    status, out, _ = run(capsys, "catalog", "apply", str(partial), "--replace", "--database-url", db)
    assert status == 0
    assert out.splitlines()[0] == ('plan pro: updated (description: "Pro: 500 credits a month, non-cumulative" -> '
                                   '"Pro"; monthly_allowance: {"credits": 500} -> {})')
    assert connect().execute("select monthly_allowance::text from credits.plans where code = 'pro'").fetchone() == (
        "{}",)


def test_dry_run_prints_the_changes_and_writes_nothing(db: str, connect: Connect, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    conn = connect(autocommit=True)
    before = snapshot(conn)
    status, out, err = run(capsys, "catalog", "apply", str(CATALOG), "--dry-run", "--database-url", db)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == ('credit type credits: would be updated (description: "The default credit type" -> '
                        '"General-purpose credits")')
    assert lines[1] == "feature roast: would be created"
    assert lines[-1] == f"dry run, nothing written {CATALOG}: 19 would be created, 1 would be updated, 0 unchanged"
    assert snapshot(conn) == before
    changed = write(tmp_path, "catalog.toml", CATALOG.read_text().replace("period_limit = 3", "period_limit = 5"))
    assert run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)[0] == 0
    status, out, _ = run(capsys, "catalog", "apply", str(changed), "--dry-run", "--database-url", db)
    assert out.splitlines() == [
        "plan free, feature video_render: would be updated (period_limit: 3 -> 5)",
        f"dry run, nothing written {changed}: 0 would be created, 1 would be updated, 19 unchanged",
    ]
    assert conn.execute("select period_limit from credits.plan_features where plan = 'free' and feature = 'video_render'"
                        ).fetchone() == (3,)


def test_the_default_plan_moves_with_is_default(db: str, connect: Connect, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)[0] == 0
    app = write(tmp_path, "app.toml", '[plans.s0_free]\nsignup_grant = { credits = 3 }\nis_default = true\n')
    status, out, _ = run(capsys, "catalog", "apply", str(app), "--database-url", db)
    assert (status, out.splitlines()[0]) == (0, "plan s0_free: created")
    assert connect().execute("select code from credits.plans where is_default").fetchall() == [("s0_free",)]
    refused = write(tmp_path, "refused.toml", "[plans.s0_free]\nis_default = false\n")
    status, out, err = run(capsys, "catalog", "apply", str(refused), "--database-url", db)
    assert (status, out) == (1, "")
    assert err == (f"pgcredits: error: {refused}: plan s0_free: plan s0_free is the default plan: "
                   "it cannot stop being the default (PT422)\n")


def test_a_plan_rolls_over_as_its_toml_says(db: str, connect: Connect, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)[0] == 0
    app = write(tmp_path, "app.toml", "[plans.pro]\nrollover = { credits = { max = 100, fraction = 0.5 } }\n")
    status, out, _ = run(capsys, "catalog", "apply", str(app), "--database-url", db)
    assert status == 0 and out.splitlines()[0].startswith("plan pro: updated")
    assert connect().execute("select rollover::text from credits.plans where code = 'pro'").fetchall() == [
        ('{"credits": {"max": 100.000000, "fraction": 0.5}}',)]
    status, out, _ = run(capsys, "catalog", "apply", str(app), "--database-url", db)
    assert status == 0 and "plan pro: updated" not in out  # the same rules again change nothing
    refused = write(tmp_path, "refused.toml", "[plans.pro]\nrollover = { credits = { fraction = 2 } }\n")
    status, out, err = run(capsys, "catalog", "apply", str(refused), "--database-url", db)
    assert (status, out) == (1, "")
    assert err == (f"pgcredits: error: {refused}: plan pro: rollover fraction for credit type credits must be "
                   "above 0 and at most 1, got 2 (PT422)\n")


def test_auto_top_ups_are_set_as_the_toml_says(db: str, connect: Connect, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)[0] == 0
    conn = connect(autocommit=True)
    conn.execute("select from credits.open_account('u_42', 'free')")
    app = write(tmp_path, "app.toml", '[auto_top_ups.u_42.credits]\nthreshold = 20\ncredits = 100\nprice = 9.99\n'
                                      'currency = "EUR"\ncooldown = "2 hours"\nmonthly_limit = 500\n')
    status, out, err = run(capsys, "catalog", "apply", str(app), "--database-url", db)
    assert (status, err) == (0, "")
    assert out.splitlines() == ["auto top-up of account u_42, credit type credits: created",
                                f"applied {app}: 1 created, 0 updated, 0 unchanged"]
    settings = ("select threshold::text, credits::text, price::text, currency, cooldown::text, monthly_limit::text"
                " from credits.auto_top_ups where account_id = 'u_42'")
    assert conn.execute(settings).fetchall() == [("20.000000", "100.000000", "9.99", "EUR", "02:00:00", "500.000000")]
    assert conn.execute("select top_up_below::text from credits_private.balances where account_id = 'u_42'"
                        ).fetchall() == [("20.000000",)]
    status, out, _ = run(capsys, "catalog", "apply", str(app), "--database-url", db)
    assert (status, out) == (0, f"{app}: nothing to change (1 entries already as the file says)\n")
    # A partial entry changes only what it names; the rest stays as set.
    partial = write(tmp_path, "partial.toml", "[auto_top_ups.u_42.credits]\nmonthly_limit = 300\n")
    status, out, _ = run(capsys, "catalog", "apply", str(partial), "--database-url", db)
    assert out.splitlines()[0] == ("auto top-up of account u_42, credit type credits: updated "
                                   "(monthly_limit: 500.000000 -> 300.000000)")
    assert conn.execute(settings).fetchall() == [("20.000000", "100.000000", "9.99", "EUR", "02:00:00", "300.000000")]
    refusals = [
        ("[auto_top_ups.u_7.credits]\nthreshold = 20\ncredits = 100\n",
         "auto top-up of account u_7, credit type credits: unknown account u_7 (PT404)"),
        ("[auto_top_ups.u_42.gems]\nthreshold = 20\ncredits = 100\n",
         "auto top-up of account u_42, credit type gems: unknown credit type gems (PT404)"),
        ("[auto_top_ups.u_42.analysis]\nthreshold = 20\n",
         "auto top-up of account u_42, credit type analysis: credits is required for a new entry"),
        ('[auto_top_ups.u_42.credits]\ncooldown = 2\n',
         'auto_top_ups.u_42.credits.cooldown: expected a string such as "1 hour", got an integer (2)'),
        ("[auto_top_ups.u_42.credits]\nprice = 4.99\ncurrency = \"usd\"\n",
         "auto top-up of account u_42, credit type credits: invalid currency usd (PT422)"),
        ("[auto_top_ups.u_42]\ncredits = 5\n",
         "auto_top_ups.u_42.credits: expected a table, got an integer (5)"),
    ]
    before = conn.execute("select to_jsonb(t)::text from credits.auto_top_ups t").fetchall()
    for text, problem in refusals:
        refused = write(tmp_path, "refused.toml", text)
        status, out, err = run(capsys, "catalog", "apply", str(refused), "--database-url", db)
        assert (status, out) == (1, "")
        assert err == f"pgcredits: error: {refused}: {problem}\n"
    assert conn.execute("select to_jsonb(t)::text from credits.auto_top_ups t").fetchall() == before


def test_a_plans_overdraft_is_as_its_toml_says(db: str, connect: Connect, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "catalog", "apply", str(CATALOG), "--database-url", db)[0] == 0
    app = write(tmp_path, "app.toml", "[plans.pro]\noverdraft = { credits = 50 }\n")
    status, out, _ = run(capsys, "catalog", "apply", str(app), "--database-url", db)
    assert status == 0 and out.splitlines()[0].startswith("plan pro: updated")
    assert connect().execute("select overdraft::text from credits.plans where code = 'pro'").fetchall() == [
        ('{"credits": 50.000000}',)]
    status, out, _ = run(capsys, "catalog", "apply", str(app), "--database-url", db)
    assert status == 0 and "plan pro: updated" not in out  # the same limit again changes nothing
    refused = write(tmp_path, "refused.toml", "[plans.pro]\noverdraft = { credits = 0.0000001 }\n")
    status, out, err = run(capsys, "catalog", "apply", str(refused), "--database-url", db)
    assert (status, out) == (1, "")
    assert err == (f"pgcredits: error: {refused}: plan pro: overdraft for credit type credits has more than 6 "
                   "decimal places: 0.0000001 (PT422)\n")


def test_a_refused_entry_rolls_back_the_whole_file(db: str, connect: Connect, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "refused.toml", CATALOG.read_text() + "\n[plans.gold.features.karaoke]\n")
    conn = connect(autocommit=True)
    before = snapshot(conn)
    status, out, err = run(capsys, "catalog", "apply", str(path), "--database-url", db)
    assert (status, out) == (1, "")
    assert err == f"pgcredits: error: {path}: plan gold, feature karaoke: unknown feature karaoke (PT404)\n"
    assert snapshot(conn) == before
    assert len(before) == 1  # the default credit type, as migrations made it


def test_catalog_apply_needs_a_database(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert run(capsys, "catalog", "apply", str(CATALOG)) == (
        1, "", "pgcredits: error: no database: pass --database-url or set DATABASE_URL\n"
    )


# --- import -----------------------------------------------------------------------------------------------------------

LEGACY = """account_id,plan,amount,expires_at
alice,free,120.50,
bob,pro,80,2999-01-01 00:00:00+00
carol,free,-5,
dave,gold,10,
erin,free,10,2001-01-01
frank,free,abc,
grace,free,10
heidi,free,10,
"""
REFUSED = [
    "line 4 (carol): amount must be above 0, got -5 (PT422)",
    "line 5 (dave): unknown plan gold (PT404)",
    "line 6 (erin): expires_at 2001-01-01 00:00:00+00 is not in the future (PT422)",
    'line 7 (frank): invalid input syntax for type numeric: "abc" (22P02)',
    "line 8: malformed line: expected 4 fields, got 3",
    "line 9 (heidi): account heidi is on plan pro, not free",
]


@pytest.fixture
def legacy(db: str, connect: Connect, tmp_path: Path) -> Path:
    """The example catalog, heidi already on pro, and a legacy file: two good rows and six bad ones."""
    with connect() as conn:
        conn.execute((db_dir() / "catalog" / "example.sql").read_bytes())
        conn.execute("select credits.open_account('heidi', 'pro')")
    return write(tmp_path, "legacy.csv", LEGACY)


def counts(conn: psycopg.Connection[Any]) -> tuple[int, ...]:
    row = conn.execute(
        "select (select count(*) from credits.accounts), (select count(*) from credits.ledger),"
        " (select count(*) from credits.events),"
        " (select count(*) from credits.ledger where reason like 'import from %')"
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_dry_run_writes_nothing(db: str, connect: Connect, legacy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conn = connect(autocommit=True)
    before = counts(conn)
    status, out, err = run(capsys, "import", str(legacy), "--dry-run", "--database-url", db)
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == "refused line 8: malformed line: expected 4 fields, got 3"
    assert lines[1].startswith("line 2 (alice): would open on plan free, grant 120.50 (grant ")
    assert lines[2].startswith("line 3 (bob): would open on plan pro, grant 80 expiring 2999-01-01 00:00:00+00")
    assert lines[-1] == f"{legacy}: would import 2, skipped 0 (already imported), refused 6 (dry run: nothing written)"
    assert err.splitlines()[-1] == f"pgcredits: error: 6 of 8 rows of {legacy} refused (listed above)"
    assert counts(conn) == before


def test_import_counts_rows_and_a_rerun_imports_nothing_twice(
    db: str, connect: Connect, legacy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "import", str(legacy), "--database-url", db)
    assert status == 1
    assert sorted(line.removeprefix("refused ") for line in out.splitlines()[:-1]) == sorted(REFUSED)
    assert out.splitlines()[-1] == f"{legacy}: imported 2, skipped 0 (already imported), refused 6"
    assert err.splitlines() == [
        "import: 8 of 8 rows (100 %)",
        f"pgcredits: error: 6 of 8 rows of {legacy} refused (listed above)",
    ]
    conn = connect(autocommit=True)
    grants = conn.execute(
        "select account_id, amount, reason from credits.ledger where kind = 'grant' and metadata ->> 'source' = "
        "'migration' order by account_id"
    ).fetchall()
    assert [(account, str(amount), reason) for account, amount, reason in grants] == [
        ("alice", "120.500000", "import from legacy.csv"),
        ("bob", "80.000000", "import from legacy.csv"),
    ]
    after_first = counts(conn)

    status, out, _ = run(capsys, "import", str(legacy), "--database-url", db)
    assert status == 1
    assert out.splitlines()[-1] == f"{legacy}: imported 0, skipped 2 (already imported), refused 6"
    assert counts(conn) == after_first


def test_a_clean_file_imports_with_status_zero(db: str, connect: Connect, legacy: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    clean = write(legacy.parent, "clean.csv", "account_id,plan,amount\nivan,pro,7\n")
    status, out, err = run(capsys, "import", str(clean), "--database-url", db)
    assert (status, err) == (0, "import: 1 of 1 rows (100 %)\n")
    assert out == f"{clean}: imported 1, skipped 0 (already imported), refused 0\n"
    available = connect().execute("select available from credits.get_balance('ivan')").fetchone()
    assert available is not None and str(available[0]) == "507.000000"  # pro's 500 a month, and the 7 imported


def test_import_shows_progress(db: str, legacy: Path) -> None:
    progress = io.StringIO()
    result = import_balances(db, legacy, report=lambda line: None, progress=progress, progress_every=3)
    assert (result.imported, result.skipped, len(result.refused)) == (2, 0, 6)
    assert progress.getvalue().splitlines() == [
        "import: 3 of 8 rows (37 %)",
        "import: 6 of 8 rows (75 %)",
        "import: 8 of 8 rows (100 %)",
    ]


def test_import_refuses_a_file_without_the_header(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "no_header.csv", "alice,free,10,\n")
    assert run(capsys, "import", str(path), "--database-url", db) == (
        1, "", (f"pgcredits: error: {path}: line 1: expected the header account_id,plan,amount,expires_at,"
               "credit_type (expires_at and credit_type may be left out), got 'alice,free,10,'\n")
    )
    twice = write(tmp_path, "twice.csv", "account_id,plan,amount,amount\nalice,free,10,10\n")
    assert run(capsys, "import", str(twice), "--database-url", db)[0:2] == (1, "")


def test_import_takes_a_credit_type(db: str, connect: Connect, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 17: an app with analysis and roast credits imports each into its own balance (default: credits)."""
    with connect() as conn:
        conn.execute((db_dir() / "catalog" / "example.sql").read_bytes())
        conn.execute("select credits.upsert_credit_type(c) from unnest(array['analysis', 'roast_credits']) c")
    path = write(tmp_path, "typed.csv", "account_id,credit_type,plan,amount\n"
                                        "sam,analysis,free,300\nsam,roast_credits,free,40\nsam,,free,2\n"
                                        "sam,karaoke,free,1\n")
    status, out, _ = run(capsys, "import", str(path), "--database-url", db)
    assert status == 1
    assert out.splitlines() == [
        "refused line 5 (sam): unknown credit type karaoke (PT404)",
        f"{path}: imported 3, skipped 0 (already imported), refused 1",
    ]
    rows = connect().execute("select credit_type, available from credits.get_balance('sam') order by 1").fetchall()
    assert [(kind, str(amount)) for kind, amount in rows] == [
        ("analysis", "300.000000"), ("credits", "8.000000"), ("roast_credits", "40.000000")]  # 6 at signup + 2
    # A row of the default type keys as it did before the column existed: written either way, it is skipped.
    untyped = write(tmp_path, "untyped.csv", "account_id,plan,amount\nsam,free,2\n")
    retyped = write(tmp_path, "retyped.csv", "account_id,plan,amount,credit_type\nsam,free,2,credits\n")
    for again in (untyped, retyped):
        status, out, _ = run(capsys, "import", str(again), "--database-url", db)
        assert (status, out.splitlines()[-1]) == (0, f"{again}: imported 0, skipped 1 (already imported), refused 0")


# --- report -----------------------------------------------------------------------------------------------------------


def test_report(db: str, connect: Connect, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGOPTIONS", "-c credits.now=2027-01-10T12:00:00Z")  # the report's clock too
    with connect() as conn:
        conn.execute((db_dir() / "catalog" / "example.sql").read_bytes())
        conn.execute("""
            select credits.open_account(a, 'pro') from unnest(array['u_1', 'u_2', 'u_3']) a;
            select credits.deduct_credits('u_1', 'chat', '{"input_tokens": 40000, "output_tokens": 12000}');
            select credits.deduct_credits('u_2', 'video_render', '{"seconds": 30}');
            select credits.deduct_credits('u_2', 'roast');
            select credits.deduct_credits('u_3', 'roast');
            select credits.deduct_credits(a, 'chat', '{"input_tokens": 1000, "output_tokens": 1000}')
            from unnest(array['u_2', 'u_3']) a;
            -- drift: a balance the ledger does not explain
            update credits_private.balances set balance = balance + 1 where account_id = 'u_3';
        """)
    status, out, err = run(capsys, "report", "--limit", "2", "--database-url", db)
    assert (status, err) == (0, "")
    assert out == """\
Top consumers, 2026-12-12 to 2027-01-10 (UTC) (top 2 per credit type)
 rank | account_id | credit_type | credits_used | calls
------+------------+-------------+--------------+-------
    1 | u_1        | credits     |    38.000000 |     1
    2 | u_2        | credits     |    18.000000 |     3
(2 rows)

Usage by feature, 2026-12-12 to 2027-01-10 (UTC): calls, credits net of refunds, cost per call
   feature    | credit_type | calls |  credits  |  avg_cost |  min_cost |  max_cost
--------------+-------------+-------+-----------+-----------+-----------+-----------
 chat         | credits     |     3 | 42.000000 | 14.000000 |  2.000000 | 38.000000
 video_render | credits     |     1 | 15.000000 | 15.000000 | 15.000000 | 15.000000
 roast        | credits     |     2 |  2.000000 |  1.000000 |  1.000000 |  1.000000
(3 rows)

Outliers, 2026-12-12 to 2027-01-10 (UTC): calls costing 3 times their feature's median or more (top 2)
 transaction_id | account_id | feature | credit_type |  charged  |  median  | times
----------------+------------+---------+-------------+-----------+----------+-------
              4 | u_1        | chat    | credits     | 38.000000 | 2.000000 |  19.0
(1 row)

Reconciliation drift
 account_id | credit_type | materialized_balance | ledger_sum | grants_remaining | materialized_held | grants_held \
| materialized_debt | ledger_debt
------------+-------------+----------------------+------------+------------------+-------------------+-------------\
+-------------------+-------------
 u_3        | credits     |           498.000000 | 497.000000 |       497.000000 |          0.000000 |    0.000000 \
|          0.000000 |    0.000000
(1 row)
"""
    # The range applies to every part: nothing was spent from 2027-01-11 on.
    status, out, _ = run(capsys, "report", "--from", "2027-01-11", "--to", "2027-01-31", "--outlier-factor", "1.5",
                         "--database-url", db)
    assert status == 0
    assert out.startswith("""\
Top consumers, 2027-01-11 to 2027-01-31 (UTC) (top 10 per credit type)
 rank | account_id | credit_type | credits_used | calls
------+------------+-------------+--------------+-------
(0 rows)

Usage by feature, 2027-01-11 to 2027-01-31 (UTC): calls, credits net of refunds, cost per call
 feature | credit_type | calls | credits | avg_cost | min_cost | max_cost
---------+-------------+-------+---------+----------+----------+----------
(0 rows)

Outliers, 2027-01-11 to 2027-01-31 (UTC): calls costing 1.5 times their feature's median or more (top 10)
none
""")
    with connect() as conn:
        conn.execute("update credits_private.balances set balance = balance - 1 where account_id = 'u_3'")
    status, out, _ = run(capsys, "report", "--database-url", db)
    assert out.endswith("Reconciliation drift\nnone\n")
    assert run(capsys, "report", "--outlier-factor", "1", "--database-url", db) == (
        1, "", "pgcredits: error: --outlier-factor must be above 1, not 1\n")


def test_report_refuses_a_range_backwards(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "report", "--from", "2027-02-01", "--to", "2027-01-01", "--database-url", db) == (
        1, "", "pgcredits: error: --from 2027-02-01 is after --to 2027-01-01\n"
    )
