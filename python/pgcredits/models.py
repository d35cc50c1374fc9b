"""Pydantic models of what the SQL functions of schema `credits` return: one field per result column.

Amounts are `Decimal`, exact to the 6 decimal places of the database, never
float: that holds inside JSON columns too (`buckets`, `draws`, `units`,
allowances), which are read with `json.loads(..., parse_float=Decimal)`.
A JSON column arrives as a Python object from psycopg and as text from
asyncpg; `JsonValue` accepts both.

The models ignore a column they do not know (SPEC §2 promises "at least the
listed columns"), so a newer database does not break an older client;
tests/test_client.py checks that every field is a column and every column a field.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict


def json_loads(text: str | bytes) -> Any:
    """JSON text to Python, numbers with a fraction as Decimal (never float)."""
    return json.loads(text, parse_float=Decimal)


def _from_json_text(value: Any) -> Any:
    return json_loads(value) if isinstance(value, (str, bytes)) else value


_T = TypeVar("_T")
JsonValue = Annotated[_T, BeforeValidator(_from_json_text)]
"""A jsonb column: decoded from text when the driver leaves it as text (asyncpg)."""


class Result(BaseModel):
    """A row returned by a credits function. Immutable; unknown columns are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class CreditType(Result):
    """A row of credits.credit_types: a currency of credits."""

    code: str
    description: str | None
    created_at: datetime
    updated_at: datetime


class Feature(Result):
    """A row of credits.features: cost = base_cost + sum(unit_rates[u] * units[u])."""

    code: str
    credit_type: str
    base_cost: Decimal
    unit_rates: JsonValue[dict[str, Decimal]]
    description: str | None
    created_at: datetime
    updated_at: datetime


class Plan(Result):
    """A row of credits.plans: allowances keyed by credit type."""

    code: str
    signup_grant: JsonValue[dict[str, Decimal]]
    monthly_allowance: JsonValue[dict[str, Decimal]]
    daily_allowance: JsonValue[dict[str, Decimal]]
    unlimited: bool
    description: str | None
    created_at: datetime
    updated_at: datetime
    is_default: bool
    rollover: JsonValue[dict[str, dict[str, Decimal]]]
    overdraft: JsonValue[dict[str, Decimal]]


class PlanFeature(Result):
    """A row of credits.plan_features: whether a plan includes a feature, its period limit and cost override."""

    plan: str
    feature: str
    enabled: bool
    period_limit: int | None
    cost_override: Decimal | None
    updated_at: datetime


class Account(Result):
    """A row of credits.accounts."""

    account_id: str
    plan: str
    status: str
    status_reason: str | None
    is_demo: bool
    timezone: str
    billing_anchor: datetime
    period_start: datetime
    period_end: datetime
    metadata: JsonValue[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class OpenedAccount(Account):
    """What open_account returns: the account, whether this call `opened` it, and for an existing one the
    arguments it asked for that the account does not have (`differences`: plan, is_demo, timezone, metadata)."""

    opened: bool
    differences: list[str]


class Balance(Result):
    """One credit type of an account's balance (get_balance, reset_credits); `buckets`: remaining per source.

    In an overdraft `available` is negative and `buckets` holds the debt as `overdraft` (negative).

    For a member of a pool: `pool_available`, what it may draw from the pool now (the pool's available, at
    most what is left of its cap), and `pool_cap_remaining` (None: no cap); both None for an account in no pool.
    """

    credit_type: str
    available: Decimal
    held: Decimal
    granted_this_period: Decimal
    used_this_period: Decimal
    period_start: datetime
    period_end: datetime
    next_reset_at: datetime
    plan: str
    unlimited: bool
    buckets: JsonValue[dict[str, Decimal]]
    pool_available: Decimal | None
    pool_cap_remaining: Decimal | None


class BalanceAt(Result):
    """One credit type of an account's balance as the ledger stood at a moment (balance_at)."""

    credit_type: str
    available: Decimal


class LedgerEntry(Result):
    """A row of credits.ledger (get_history). `draws`: which grants paid how much; `debt`: what the row moved
    the balance's debt by (an overdraft: + what no grant paid, - what a grant or refund repaid; None: nothing)."""

    transaction_id: int
    account_id: str
    credit_type: str
    kind: str
    amount: Decimal
    balance_before: Decimal
    balance_after: Decimal
    available_after: Decimal
    feature: str | None
    units: JsonValue[dict[str, Decimal] | None]
    grant_id: int | None
    refund_of: int | None
    draws: JsonValue[list[dict[str, Any]] | None]
    idempotency_key: str | None
    actor: str | None
    reason: str | None
    metadata: JsonValue[dict[str, Any]]
    created_at: datetime
    member_id: str | None
    pool_id: str | None
    pool_transaction_id: int | None
    debt: Decimal | None


class PoolMember(Result):
    """A row of credits.pool_members (add_pool_member, set_member_caps, remove_pool_member).

    `caps`: the most the member may take from the pool per credit type in one of the pool's periods.
    """

    pool_id: str
    member_id: str
    caps: JsonValue[dict[str, Decimal]]
    added_at: datetime
    updated_at: datetime


class PoolSlice(Result):
    """One member of a pool (get_pool): its caps, what it used of the pool this period and what is left of each cap."""

    member_id: str
    caps: JsonValue[dict[str, Decimal]]
    used_this_period: JsonValue[dict[str, Decimal]]
    cap_remaining: JsonValue[dict[str, Decimal]]
    period_start: datetime
    period_end: datetime
    added_at: datetime


class Period(Result):
    """An account's current billing period (get_or_create_active_period)."""

    period_id: int
    period_start: datetime
    period_end: datetime


class GrantResult(Result):
    """A grant made (grant_credits, purchase_credits) and the balance after it."""

    grant_id: int
    available: Decimal


class SubscriberGrant(Result):
    """The monthly grant of the current period (grant_subscriber_monthly_credits)."""

    grant_id: int


class FeatureCheck(Result):
    """Whether a feature may run now, what it would cost and which grants would pay (check_feature)."""

    allowed: bool
    reason: str | None
    cost: Decimal
    available: Decimal
    period_remaining: int | None
    draws: JsonValue[list[dict[str, Any]] | None]


class Quota(Result):
    """One feature of the account's plan as a UI header shows it (get_quotas): what check_feature says of a call
    without units, and the period's count limit, used and remaining (None without a limit)."""

    feature: str
    credit_type: str
    cost: Decimal
    allowed: bool
    reason: str | None
    period_limit: int | None
    period_used: int | None
    period_remaining: int | None
    next_reset_at: datetime


class Charge(Result):
    """The outcome of a debit (deduct_credits, capture_hold); `ok = false` with a `reason` on refusal."""

    ok: bool
    reason: str | None
    transaction_id: int | None
    charged: Decimal
    available: Decimal
    credit_type: str | None


class Reservation(Result):
    """The outcome of reserve_credits: the hold, or `ok = false` with a `reason`."""

    ok: bool
    reason: str | None
    hold_id: int | None
    held: Decimal
    expires_at: datetime | None


class Refund(Result):
    """A refund of a debit (refund_transaction) and the balance after it."""

    refund_id: int
    available: Decimal


class Voided(Result):
    """What void_grant took away (0 when voided before)."""

    voided: Decimal


class GrantExpiry(Result):
    """A grant's end moved (set_grant_expiry): the end it had, what expired at once, what is available after."""

    previous_expires_at: datetime | None
    expired: Decimal
    available: Decimal


class AutoTopUp(Result):
    """An auto top-up's settings (set_auto_top_up; a row of credits.auto_top_ups), all None when turned off."""

    account_id: str | None
    credit_type: str | None
    threshold: Decimal | None
    credits: Decimal | None
    price: Decimal | None
    currency: str | None
    cooldown: timedelta | None
    backoff: timedelta | None
    monthly_limit: Decimal | None
    next_request_at: datetime | None
    updated_at: datetime | None


class TopUpRequest(Result):
    """An auto top-up request (fail_top_up; a row of credits.top_up_requests)."""

    request_id: str
    account_id: str
    credit_type: str
    credits: Decimal
    price: Decimal | None
    currency: str | None
    status: str
    transaction_id: int | None
    grant_id: int | None
    reason: str | None
    created_at: datetime
    ended_at: datetime | None


class Released(Result):
    """What release_hold gave back (0 when released before)."""

    released: Decimal


class HoldsExpired(Result):
    """How many lapsed holds expire_holds released."""

    holds_released: int


class GrantsExpired(Result):
    """How many ended grants expire_grants wrote off."""

    grants_expired: int


class EventsPruned(Result):
    """How many events past their retention prune_events deleted."""

    events_pruned: int


class Watching(Result):
    """How many accounts a watcher watches after watch_events."""

    watching: int


class Unwatched(Result):
    """How many watches unwatch_events ended."""

    unwatched: int


class DailyGrants(Result):
    """How many accounts grant_daily_credits granted."""

    accounts_granted: int


class CronJob(Result):
    """A pg_cron job installed by schedule_jobs (the clients' `schedule_jobs()`, and `pgcredits migrate`)."""

    jobid: int
    job_name: str
    schedule: str  # cron syntax, GMT
    command: str
