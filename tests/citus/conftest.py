"""Fixtures of the Citus acceptance suite (`make test-citus`; not collected by `make test`).

One throwaway Citus cluster per session (tests/citus/cluster.py: a coordinator and two workers),
migrated with `migrate(..., citus=True)` and given the test catalog. Citus databases cannot be copied
from a template, so the tests share the one database and each works on accounts of its own (`account`).
After every test `credits.reconciliation`, read through the coordinator, must be empty. A missing Citus
build fails the session (CitusMissing): nothing here skips.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from pgcredits.migrate import migrate
from tests.citus.cluster import CitusCluster, running

CATALOG = """
select credits.upsert_credit_type('credits', 'General credits');
select credits.upsert_credit_type('analysis', 'Analysis credits');
select credits.upsert_feature('roast', 'credits', 1);
select credits.upsert_feature('video', 'credits', 0, '{"seconds": 0.5}');
select credits.upsert_feature('chapter', 'credits', 1);
select credits.upsert_feature('analysis_run', 'analysis', 2);
select credits.upsert_plan('free', signup_grant => '{"credits": 6}', is_default => true);
select credits.upsert_plan('ten', signup_grant => '{"credits": 10}');
select credits.upsert_plan('pro', monthly_allowance => '{"credits": 100}', daily_allowance => '{"credits": 3}');
select credits.upsert_plan('team', unlimited => true);
select credits.set_plan_feature(p, f)
from unnest(array['free', 'ten', 'pro', 'team']) p, unnest(array['roast', 'video', 'analysis_run']) f;
select credits.set_plan_feature(p, 'chapter', period_limit => 3) from unnest(array['free', 'pro']) p;
"""


@pytest.fixture(scope="session")
def citus() -> Iterator[CitusCluster]:
    """The cluster, migrated for Citus, with the catalog above and the clock override allowed."""
    with running(workers=2) as cluster:
        url = cluster.url()
        result = migrate(url, citus=True)
        assert "0011_account_on_id_keyed" in result.applied
        with psycopg.connect(url, autocommit=True) as conn:
            # Propagated by Citus to the workers, where credits.now() reads it too.
            conn.execute("alter database pgcredits set credits.allow_clock_override = on")
            conn.execute(CATALOG)
        yield cluster


@pytest.fixture
def url(citus: CitusCluster) -> Iterator[str]:
    """The coordinator's URL, as the superuser; after the test, credits.reconciliation must be empty."""
    url = citus.url()
    yield url
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("select * from credits.reconciliation").fetchall()
    if rows:
        pytest.fail(f"credits.reconciliation has {len(rows)} rows after the test: {rows[:5]}", pytrace=False)


@pytest.fixture
def account() -> Callable[[str], str]:
    """Account ids of this test only: account('a') is the same id for the whole test."""
    prefix = secrets.token_hex(4)
    return lambda name: f"{prefix}_{name}"


Caller = Callable[..., "contextmanager[psycopg.Connection[Any]]"]


@pytest.fixture
def as_caller(url: str) -> Callable[..., Any]:
    """`with as_caller('credits_user', sub='a') as conn:` a transaction on the coordinator as the gateway
    opens one: role and request.jwt.claims set with set_config(..., true). Committed at the end."""

    @contextmanager
    def open_(role: str, sub: str | None = None, **claims: Any) -> Iterator[psycopg.Connection[Any]]:
        with psycopg.connect(url) as conn:
            conn.execute("select set_config('role', %s, true)", (role,))
            if sub is not None or claims:
                conn.execute(
                    "select set_config('request.jwt.claims', %s, true)", (json.dumps({"sub": sub, **claims}),)
                )
            yield conn

    return open_
