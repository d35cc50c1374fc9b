"""pg_cron jobs (credits.schedule_jobs, `pgcredits migrate`, `pgcredits jobs install`) and the daily job racing debits.

The pg_cron tests use `cron_db`: the session's migrated database named as
cron.database_name, with the pg_cron extension. It is shared, so every test
unschedules the jobs it installed. pg_cron runs a job as the role that
scheduled it: the jobs are installed as a login role made for the test,
member of `credits_service` with USAGE on schema cron (as a deployment would
grant it), and each stored command is run as that role.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from test_concurrency import (  # noqa: F401 (roles and setup are fixtures)
    Roles,
    all_at_once,
    assert_ledger_chains,
    assert_no_negative_grant,
    roles,
    setup,
)

from pgcredits import cli
from pgcredits.migrate import MigrateError, migrate, schedule_jobs

JOBS = {
    "credits.grant_daily_credits": ("0 * * * *", "select * from credits.grant_daily_credits()"),
    "credits.expire_grants": ("* * * * *", "select * from credits.expire_grants()"),
    "credits.expire_holds": ("* * * * *", "select * from credits.expire_holds()"),
    "credits.prune_events": ("15 * * * *", "select * from credits.prune_events()"),
    "credits.clean_cron_history": (
        "30 3 * * *",
        "delete from cron.job_run_details where end_time < credits.now() - interval '30 days'",
    ),
}


@pytest.fixture
def cron_role(cron_db: str) -> Iterator[str]:
    """A login role for this test, member of credits_service, allowed to use pg_cron; its jobs go with it."""
    role = f"jobs_{secrets.token_hex(6)}"
    with psycopg.connect(cron_db, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login in role credits_service").format(sql.Identifier(role)))
        conn.execute(sql.SQL("grant usage on schema cron to {}").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        with psycopg.connect(cron_db, autocommit=True) as conn:
            conn.execute("select cron.unschedule(jobid) from cron.job where username = %s", (role,))
            conn.execute(sql.SQL("revoke usage on schema cron from {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def as_role(url: str, role: str) -> str:
    return make_conninfo(url, user=role)


def jobs_of(cron_db: str, role: str) -> list[tuple[str, str, str, str]]:
    with psycopg.connect(cron_db) as conn:
        return conn.execute(
            "select jobname, schedule, command, database from cron.job where username = %s order by jobname", (role,)
        ).fetchall()


def expected_jobs(database: str) -> list[tuple[str, str, str, str]]:
    return sorted((name, schedule, command, database) for name, (schedule, command) in JOBS.items())


def test_schedule_jobs_installs_each_job_once_and_updates_it_in_place(cron_db: str, cron_role: str) -> None:
    database = conninfo_to_dict(cron_db)["dbname"]
    with psycopg.connect(as_role(cron_db, cron_role), autocommit=True) as conn:
        first = conn.execute("select jobid, job_name, schedule, command from credits.schedule_jobs()").fetchall()
        # A DBA changed a schedule by hand: the next call puts it back, in the same job.
        with psycopg.connect(cron_db, autocommit=True) as dba:
            dba.execute(
                "update cron.job set schedule = '*/5 * * * *' where jobname = 'credits.expire_grants' and username = %s",
                (cron_role,),
            )
        assert ("credits.expire_grants", "*/5 * * * *") in [row[:2] for row in jobs_of(cron_db, cron_role)]
        second = conn.execute("select jobid, job_name, schedule, command from credits.schedule_jobs()").fetchall()

    assert sorted((name, schedule, command) for _, name, schedule, command in first) == sorted(
        (name, schedule, command) for name, (schedule, command) in JOBS.items()
    )
    assert second == first  # same job ids: updated, not added
    assert jobs_of(cron_db, cron_role) == expected_jobs(database)


def test_each_stored_command_runs_as_the_role_that_scheduled_it(cron_db: str, cron_role: str) -> None:
    with psycopg.connect(as_role(cron_db, cron_role), autocommit=True) as conn:
        conn.execute("select * from credits.schedule_jobs()")
    commands = {name: command for name, _, command, _ in jobs_of(cron_db, cron_role)}
    assert set(commands) == set(JOBS)

    with psycopg.connect(as_role(cron_db, cron_role)) as conn:
        for _, command in sorted(commands.items()):
            conn.execute(command)  # raises if the command fails
            conn.rollback()  # leave the shared database as it was


def test_the_daily_command_grants_as_the_job_would(cron_db: str, cron_role: str) -> None:
    with psycopg.connect(cron_db) as conn:  # one transaction, rolled back: the database is shared
        conn.execute("select credits.upsert_plan('jobs_drip', daily_allowance => '{\"credits\": 3}')")
        conn.execute("select credits.open_account('jobs_a', 'jobs_drip')")
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(cron_role)))
        conn.execute(JOBS["credits.grant_daily_credits"][1])
        granted = conn.execute(
            "select credit_type, available, buckets from credits.get_balance('jobs_a')"
        ).fetchall()
        grants = conn.execute(
            "select kind, amount, actor from credits.ledger where account_id = 'jobs_a'"
        ).fetchall()
        conn.rollback()
    assert granted == [("credits", 3, {"daily": 3})]
    assert [(kind, int(amount), actor) for kind, amount, actor in grants] == [("grant", 3, cron_role)]


def test_migrate_installs_the_jobs_where_pg_cron_is_installed(cron_db: str) -> None:
    """migrate runs as a DBA (here the superuser `postgres`): the jobs are the DBA's."""
    try:
        result = migrate(cron_db)

        assert result.applied == []
        assert sorted(result.jobs) == sorted(JOBS)
        assert jobs_of(cron_db, "postgres") == expected_jobs(conninfo_to_dict(cron_db)["dbname"])
    finally:
        with psycopg.connect(cron_db, autocommit=True) as conn:
            conn.execute(
                "select cron.unschedule(jobid) from cron.job where username = 'postgres' and jobname like 'credits.%'"
            )


def test_cli_jobs_install_prints_the_jobs(cron_db: str, cron_role: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["jobs", "install", "--database-url", as_role(cron_db, cron_role)]) == 0
    assert cli.main(["jobs", "install", "--database-url", as_role(cron_db, cron_role)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 * len(JOBS)
    for name, (schedule, command) in JOBS.items():
        assert sum(1 for line in lines if line.split() == [name, *schedule.split(), *command.split()]) == 2
    assert [row[0] for row in jobs_of(cron_db, cron_role)] == sorted(JOBS)


def test_schedule_jobs_refuses_a_role_that_cannot_log_in(cron_db: str) -> None:
    with psycopg.connect(cron_db) as conn:
        conn.execute("set local role credits_service")
        with pytest.raises(errors.InsufficientPrivilege, match="cannot log in"):
            conn.execute("select * from credits.schedule_jobs()")


def test_schedule_jobs_refuses_a_role_that_could_not_run_the_jobs(cron_db: str) -> None:
    role = f"nojobs_{secrets.token_hex(6)}"
    with psycopg.connect(cron_db, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login in role credits_user").format(sql.Identifier(role)))
        conn.execute(sql.SQL("grant execute on function credits.schedule_jobs() to {}").format(sql.Identifier(role)))
    try:
        with psycopg.connect(as_role(cron_db, role)) as conn:
            with pytest.raises(errors.InsufficientPrivilege, match="may not run the credits jobs"):
                conn.execute("select * from credits.schedule_jobs()")
        assert jobs_of(cron_db, role) == []
    finally:
        with psycopg.connect(cron_db, autocommit=True) as conn:
            conn.execute(sql.SQL("revoke all on function credits.schedule_jobs() from {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_without_pg_cron_schedule_jobs_is_a_notice_and_migrate_schedules_nothing(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    notices: list[str] = []
    with psycopg.connect(db) as conn:
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        assert conn.execute("select * from credits.schedule_jobs()").fetchall() == []
    assert len(notices) == 1 and notices[0].startswith("pg_cron is not installed in database")

    assert migrate(db).jobs == []
    with pytest.raises(MigrateError, match="pg_cron is not installed"):
        schedule_jobs(db)
    assert cli.main(["jobs", "install", "--database-url", db]) == 1
    assert "pg_cron is not installed" in capsys.readouterr().err


# The daily job racing debits on the same accounts ---------------------------------------------------------

T0 = datetime(2026, 3, 8, 12, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 3, 9, 0, 30, tzinfo=timezone.utc)  # a new local day in UTC and Europe/Paris; not in New York
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo"]
DEDUCT = "select * from credits.deduct_credits(account_id => %s, feature => 'roast')"


def at(conn: psycopg.Connection[Any], moment: datetime) -> psycopg.Connection[Any]:
    conn.execute("select set_config('credits.now', %s, false)", (moment.isoformat(),))
    conn.commit()
    return conn


def test_the_daily_job_racing_debits_grants_once_per_account_and_day(
    setup: psycopg.Connection[Any], roles: Roles
) -> None:
    """The job (one connection) and 8 debiting connections on the same accounts, just after midnight.

    Every account holds 5 credits a day: its daily grant, issued either by the
    job or lazily by its first debit of the day, never both, so exactly
    min(debits, 5) of its debits succeed. No deadlock, one ledger chain.
    """
    accounts = [f"dr_{i:03}" for i in range(120)]
    zone = {account: ZONES[i % len(ZONES)] for i, account in enumerate(accounts)}
    setup.execute("select credits.upsert_plan('drip', daily_allowance => '{\"credits\": 5, \"analysis\": 1}')")
    setup.execute("select credits.set_plan_feature('drip', 'roast')")
    setup.execute("select set_config('credits.now', %s, false)", (T0.isoformat(),))
    for account in accounts:
        setup.execute("select credits.open_account(%s, 'drip', timezone => %s)", (account, zone[account]))
    assert setup.execute("select * from credits.grant_daily_credits()").fetchone() == {"accounts_granted": 120}

    rng = random.Random(20260309)
    picks = [[rng.choice(accounts) for _ in range(40)] for _ in range(8)]

    def work(i: int, barrier: threading.Barrier) -> Any:
        conn = at(roles.admin() if i == 0 else roles.service(), T1)
        barrier.wait()
        if i == 0:
            row = conn.execute("select * from credits.grant_daily_credits()").fetchone()
            conn.commit()
            return row["accounts_granted"], conn.info.user
        outcomes = []
        for account in picks[i - 1]:
            row = conn.execute(DEDUCT, (account,)).fetchone()
            conn.commit()
            outcomes.append((account, row["ok"], row["reason"]))
        return outcomes

    results = all_at_once(9, work)  # a deadlock or serialization failure would be raised here
    (by_job, job_role), debits = results[0], [outcome for outcomes in results[1:] for outcome in outcomes]

    new_day = {account for account in accounts if zone[account] != "America/New_York"}
    daily = setup.execute(
        """
        select g.account_id, g.credit_type, count(*) as grants
        from credits_private.grants g
        join credits_private.accounts a on a.account_id = g.account_id
        where g.source = 'daily' and g.local_day = ((%s::timestamptz) at time zone a.timezone)::date
        group by 1, 2
        """,
        (T1.isoformat(),),
    ).fetchall()
    assert {(r["account_id"], r["credit_type"]): r["grants"] for r in daily} == {
        (account, credit_type): 1 for account in accounts for credit_type in ("credits", "analysis")
    }
    issuers = setup.execute(
        "select account_id, actor from credits.ledger where kind = 'grant' and created_at = %s and credit_type = 'credits'",
        (T1.isoformat(),),
    ).fetchall()
    assert sorted(r["account_id"] for r in issuers) == sorted(new_day)  # one new grant each, by someone
    assert by_job == sum(1 for r in issuers if r["actor"] == job_role)

    tries = Counter(account for account, _, _ in debits)
    succeeded = Counter(account for account, ok, _ in debits if ok)
    assert {account: succeeded[account] for account in tries} == {account: min(n, 5) for account, n in tries.items()}
    assert {reason for _, ok, reason in debits if not ok} <= {"insufficient_credits"}
    assert_ledger_chains(setup)
    assert_no_negative_grant(setup)


def test_issue9_item15_prune_events_keeps_the_retention_and_no_more(db: str) -> None:
    """The outbox and the refusals no longer grow forever: events older than credits.event_retention go."""
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select tests.catalog()")
        for account, at in (("ancient", "2026-01-01 00:00+00"), ("old", "")):
            conn.execute("select set_config('credits.now', %s, false)", (at,))
            conn.execute("select credits.open_account(%s)", (account,))
            conn.execute("select credits.deduct_credits(%s, 'premium')", (account,))  # a refusal (free plan)
            conn.execute("select credits.deduct_credits(%s, 'roast')", (account,))
        count = "select count(*) from credits_private.events where account_id = %s"
        ancient, old = (conn.execute(count, (a,)).fetchone()[0] for a in ("ancient", "old"))
        assert ancient > 0 and old > 0
        with conn.transaction():
            conn.execute("select tests.act_as('credits_service')")
            assert conn.execute("select events_pruned from credits.prune_events()").fetchone()[0] == ancient
        assert conn.execute(count, ("ancient",)).fetchone()[0] == 0
        assert conn.execute(count, ("old",)).fetchone()[0] == old
        # A shorter retention, set for the database (a session cannot change it for itself).
        conn.execute("select set_config('credits.now', (now() + interval '2 days')::text, false)")
        conn.execute("set credits.event_retention = '1 hour'")
        assert conn.execute("select events_pruned from credits.prune_events()").fetchone()[0] == 0
        conn.execute(sql.SQL("alter database {} set credits.event_retention = '1 day'").format(
            sql.Identifier(conninfo_to_dict(db)["dbname"])))
        assert conn.execute("select events_pruned from credits.prune_events()").fetchone()[0] == old
        conn.execute(sql.SQL("alter database {} set credits.event_retention = '1 minute'").format(
            sql.Identifier(conninfo_to_dict(db)["dbname"])))
        with pytest.raises(psycopg.Error, match="at least 1 hour"):
            conn.execute("select * from credits.prune_events()")
