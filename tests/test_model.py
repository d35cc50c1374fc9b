"""Model-based test: random sequences of ledger operations against a small Python model (issue 5 "Faults").

Hypothesis drives open, grant, purchase, deduct (with and without
idempotency keys, retries included), reserve, capture, release, refund,
void, future-dated grants (`starts_at`), moved grant ends
(`set_grant_expiry`), expiry sweeps and time travel across a few accounts,
two of them members of a pool (docs/contract.md, Teams): one with a cap of 5
a period, one without; their debits and holds take their own credits first,
then the pool's within the cap, and refunds give the pool's share back first. The third account's plan
has an overdraft of 20 (docs/contract.md, Overdraft): its debits go below zero down to -20, the part no
grant pays is debt, every grant in force repays the debt first, a refund gives a debit's overdraft part
back first (to the debt, or to a new refund grant once repaid). Purchases may carry a price: each priced
grant's recognized revenue must be the model's `round(price * spent / amount, 2)` of what debits and
captures took from it net of refunds, and of what it repaid of a debt (the cost basis). One more account has an auto
top-up and only what its requests bought: a debit that leaves it below the threshold requests once, never
while a request is open, within the cooldown (doubled by a decline) or past the monthly limit; a worker
rule pays (twice, as a retried worker would: credited once) or declines. The model keeps
every grant (priority, expiry, remaining, earmarks) and every hold and
debit, and applies SPEC §1's rules: the burn-down order, holds that block
until they lapse, captures from the earmarked grants, refunds to the grants
that paid (the last drawn first; a new never-expiring `refund` grant where
a paying grant has ended), voids of what is not earmarked. After every step
each account's `get_balance` must equal the model and `reconciliation`
must be empty.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule
from psycopg.rows import dict_row

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
LAZY_OPENED = datetime(2026, 2, 1, 15, 0, tzinfo=timezone.utc)  # its first period ends at START + 3 hours
PRIORITY = {"promo": 100, "purchase": 200}
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("40"), places=2)
prices = st.none() | st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50"), places=2)
TOP_UP_BELOW, TOP_UP_CREDITS, TOP_UP_LIMIT = Decimal(10), Decimal(25), Decimal(100)
TOP_UP_COOLDOWN = timedelta(minutes=30)
_run = itertools.count()


@dataclass
class Grant:
    grant_id: int
    account: str
    priority: int
    expires_at: datetime | None
    remaining: Decimal
    starts_at: datetime
    voided: bool = False
    source: str = "promo"
    price: Decimal | None = None
    amount: Decimal = Decimal(0)
    spent: Decimal = Decimal(0)  # what debits and captures took, net of refunds: the base of its revenue
    moved_otherwise: bool = False  # voided or its end moved: revenue then also depends on when expiry ran
    repaid: Decimal = Decimal(0)  # what it repaid of a debt when granted: spent by the debit that made the debt

    def ended(self, now: datetime) -> bool:
        return self.voided or (self.expires_at is not None and self.expires_at <= now)

    def live(self, now: datetime) -> bool:
        return not self.ended(now) and self.starts_at <= now

    def burn_key(self) -> tuple[int, datetime, datetime, int]:
        far = datetime.max.replace(tzinfo=timezone.utc)
        return (self.priority, self.expires_at or far, self.starts_at, self.grant_id)


@dataclass
class Hold:
    hold_id: int
    account: str
    earmarks: list[tuple[Grant, Decimal]]
    expires_at: datetime
    status: str = "held"  # held, captured, released, expired (lapsed, then settled)
    result: tuple[Any, ...] | None = None

    def blocking(self, now: datetime) -> bool:
        return self.status == "held" and self.expires_at > now


@dataclass
class Debit:
    transaction_id: int
    account: str
    draws: list[tuple[Grant, Decimal]]
    refunded: dict[int, Decimal] = field(default_factory=dict)  # per paying grant id
    overdraft: Decimal = Decimal(0)  # the part no grant paid (debt)
    overdraft_refunded: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        for g, take in self.draws:
            g.spent += take

    @property
    def charged(self) -> Decimal:
        return sum((take for _, take in self.draws), self.overdraft)

    @property
    def refundable(self) -> Decimal:
        return self.charged - sum(self.refunded.values(), self.overdraft_refunded)


class Ledger(RuleBasedStateMachine):
    """The machine; `conn` is set by the test (one database for every example, fresh account names per example)."""

    conn: psycopg.Connection[Any]
    accounts = Bundle("accounts")
    holds = Bundle("holds")
    debits = Bundle("debits")
    grants = Bundle("grants")

    def __init__(self) -> None:
        super().__init__()
        self.run = next(_run)
        self.now = START
        self.grants_by_id: dict[int, Grant] = {}
        self.all_holds: list[Hold] = []
        self.keys: dict[tuple[str, str], tuple[Decimal, int]] = {}
        self.names: list[str] = []
        # The pool: the first account opened draws on it with a cap, the second without, the third not at all.
        self.pool = f"m{self.run}_pool"
        self.caps: dict[str, Decimal | None] = {}
        self.pool_used: dict[str, Decimal] = {}  # what each member took from the pool this period (net)
        self.limits: dict[str, Decimal] = {}  # overdraft limits (the third account's plan)
        self.debt: dict[str, Decimal] = {}
        # An account the model does not predict, for what is settled lazily: a monthly and a daily allowance
        # in a time zone of its own, its first period ending 3 hours after START; its plan rolls a third of
        # the unused allowance over, at most 7.5 (holds on it, sweeps and the renewal race in the rules).
        self.lazy = f"m{self.run}_lazy"
        self.sql("select set_config('credits.now', %s, false)", (LAZY_OPENED.isoformat(),))
        self.sql("select credits.open_account(%s, 'lazy', timezone => 'America/New_York')", (self.lazy,))
        self.sql("select set_config('credits.now', %s, false)", (self.now.isoformat(),))
        self.sql("select credits.open_account(%s, 'empty')", (self.pool,))
        # An account with an auto top-up, its credits only what its requests bought: its requests in order
        # ([request_id, credits, status, created_at]).
        self.topped = f"m{self.run}_topped"
        self.sql("select credits.open_account(%s, 'empty')", (self.topped,))
        self.sql("select credits.set_auto_top_up(%s, 'credits', %s, %s, price => 5.00, currency => 'EUR',"
                 " cooldown => %s, monthly_limit => %s)",
                 (self.topped, TOP_UP_BELOW, TOP_UP_CREDITS, TOP_UP_COOLDOWN, TOP_UP_LIMIT))
        self.top_ups: list[list[Any]] = []
        self.top_up_backoff = TOP_UP_COOLDOWN
        self.top_up_next_at: datetime | None = None

    # -- helpers -----------------------------------------------------------------------------------

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return self.conn.execute(statement, params).fetchall()

    def one(self, statement: str, params: tuple[Any, ...] = ()) -> dict[str, Any]:
        (row,) = self.sql(statement, params)
        return row

    def refused(self, sqlstate: str, statement: str, params: tuple[Any, ...]) -> None:
        """Run `statement`, which must raise `sqlstate`, and change nothing."""
        try:
            with self.conn.transaction():
                self.sql(statement, params)
        except psycopg.Error as err:
            assert err.sqlstate == sqlstate, (err.sqlstate, str(err))
            return
        raise AssertionError(f"not refused with {sqlstate}: {statement} {params}")

    def earmarked(self, grant: Grant) -> Decimal:
        return sum((amount for h in self.all_holds if h.blocking(self.now)
                    for g, amount in h.earmarks if g is grant), Decimal(0))

    def free(self, account: str) -> list[tuple[Grant, Decimal]]:
        """Live grants with what is free of each, in burn-down order."""
        out = []
        for g in sorted((g for g in self.grants_by_id.values() if g.account == account and g.live(self.now)),
                        key=Grant.burn_key):
            free = g.remaining - self.earmarked(g)
            if free > 0:
                out.append((g, free))
        return out

    def available(self, account: str) -> Decimal:
        return sum((free for _, free in self.free(account)), Decimal(0)) - self.debt.get(account, Decimal(0))

    def plan(self, account: str, amount: Decimal) -> list[tuple[Grant, Decimal]]:
        draws, left = [], amount
        if amount == 0:
            return []
        for g, free in self.free(account):
            take = min(free, left)
            draws.append((g, take))
            left -= take
            if left == 0:
                break
        assert left == 0
        return draws

    def cap_left(self, member: str) -> Decimal | None:
        """What is left of a member's cap: what it took this period and what its live holds hold of the pool."""
        cap = self.caps[member]
        if cap is None:
            return None
        held = sum((a for h in self.all_holds if h.account == member and h.blocking(self.now)
                    for g, a in h.earmarks if g.account == self.pool), Decimal(0))
        return max(cap - self.pool_used[member] - held, Decimal(0))

    def pool_slice(self, member: str) -> Decimal:
        """What a member may draw from its pool now (0 for an account in no pool)."""
        if member not in self.caps:
            return Decimal(0)
        left = self.cap_left(member)
        return self.available(self.pool) if left is None else min(self.available(self.pool), left)

    def spend_plan(self, account: str, amount: Decimal, overdraft: bool = False
                   ) -> list[tuple[Grant, Decimal]] | None:
        """The draws of a debit or hold: its own grants, then its pool's within the cap; None when refused.

        A debit (overdraft) of an account with an overdraft: down to -limit, the grants paying what is free in
        them (the caller adds the rest to the debt)."""
        own = self.available(account)
        if amount <= own:
            return self.plan(account, amount)
        if overdraft and account in self.limits:
            if amount > own + self.limits[account]:
                return None
            return self.plan(account, min(amount, sum((f for _, f in self.free(account)), Decimal(0))))
        if amount - own > self.pool_slice(account):
            return None
        draws = self.plan(account, own) + self.plan(self.pool, amount - own)
        return [(g, take) for g, take in draws if take > 0]

    def count_pool(self, draws: list[tuple[Grant, Decimal]], member: str, sign: int = 1) -> None:
        if member in self.caps:
            self.pool_used[member] += sign * sum((t for g, t in draws if g.account == self.pool), Decimal(0))

    def add_grant(self, account: str, grant_id: int, source: str, amount: Decimal, expires_at: datetime | None,
                  starts_at: datetime | None = None, repays: bool = True, price: Decimal | None = None) -> Grant:
        # A grant in force at once repays the debt first; a future-dated one (or a refund's) does not.
        repaid = min(amount, self.debt.get(account, Decimal(0))) if repays and starts_at is None else Decimal(0)
        if repaid:
            self.debt[account] -= repaid
        grant = Grant(grant_id, account, PRIORITY.get(source, 100), expires_at, amount - repaid,
                      starts_at or self.now, source=source, price=price, amount=amount, repaid=repaid)
        self.grants_by_id[grant_id] = grant
        return grant

    # -- rules -------------------------------------------------------------------------------------

    @initialize(target=accounts)
    def open_first(self) -> str:
        return self._open()

    @precondition(lambda self: len(self.names) < 3)
    @rule(target=accounts)
    def open_account(self) -> str:
        return self._open()

    def _open(self) -> str:
        name = f"m{self.run}_{len(self.names)}"
        self.sql("select credits.open_account(%s, %s)", (name, "overdrawn" if len(self.names) == 2 else "empty"))
        if len(self.names) == 2:
            self.limits[name], self.debt[name] = Decimal(20), Decimal(0)
        if len(self.names) < 2:
            self.caps[name] = Decimal(5) if not self.names else None
            self.pool_used[name] = Decimal(0)
            caps = '{"credits": 5}' if not self.names else '{}'
            self.sql("select credits.add_pool_member(%s, %s, %s)", (self.pool, name, caps))
        self.names.append(name)
        return name

    @rule(target=grants, amount=amounts, minutes=st.none() | st.integers(1, 600))
    def grant_pool(self, amount: Decimal, minutes: int | None) -> int:
        expires = self.now + timedelta(minutes=minutes) if minutes else None
        row = self.one("select grant_id from credits.grant_credits(%s, %s, 'promo', expires_at => %s)",
                       (self.pool, amount, expires))
        self.add_grant(self.pool, row["grant_id"], "promo", amount, expires)
        return row["grant_id"]

    @rule(target=grants, account=accounts, amount=amounts, minutes=st.none() | st.integers(1, 600),
          starts_in=st.none() | st.integers(1, 300))
    def grant(self, account: str, amount: Decimal, minutes: int | None, starts_in: int | None) -> int:
        starts = self.now + timedelta(minutes=starts_in) if starts_in else None
        expires = (starts or self.now) + timedelta(minutes=minutes) if minutes else None
        row = self.one("select grant_id from credits.grant_credits(%s, %s, 'promo', expires_at => %s,"
                       " starts_at => %s)", (account, amount, expires, starts))
        self.add_grant(account, row["grant_id"], "promo", amount, expires, starts)
        return row["grant_id"]

    @rule(grant_id=grants, minutes=st.none() | st.integers(-120, 600))
    def set_expiry(self, grant_id: int, minutes: int | None) -> None:
        """Move a grant's end (None: never; negative: already passed, so it expires at once)."""
        g = self.grants_by_id[grant_id]
        expires = self.now + timedelta(minutes=minutes) if minutes is not None else None
        call = "select expired from credits.set_grant_expiry(%s, %s, 'model')"
        if g.ended(self.now) or (expires is not None and expires <= g.starts_at):
            self.refused("PT422", call, (grant_id, expires))
            return
        row = self.one(call, (grant_id, expires))
        if g.expires_at == expires:
            assert row["expired"] == 0, row
            return
        g.expires_at = expires
        g.moved_otherwise = True
        if expires is not None and g.source != "purchase":
            # Holds earmarking a given grant lapse at most 15 minutes after its end (SPEC §1 hold).
            for h in self.all_holds:
                if h.status == "held" and any(e is g for e, _ in h.earmarks):
                    h.expires_at = min(h.expires_at, expires + timedelta(minutes=15))
        if expires is not None and expires <= self.now:
            assert row["expired"] == g.remaining - self.earmarked(g), (row, g)
        else:
            assert row["expired"] == 0, row

    @rule(target=grants, account=accounts, amount=amounts, price=prices)
    def purchase(self, account: str, amount: Decimal, price: Decimal | None) -> int:
        row = self.one("select grant_id from credits.purchase_credits(%s, %s, %s, price => %s, currency => %s)",
                       (account, amount, f"pay_{self.run}_{len(self.grants_by_id)}", price,
                        None if price is None else "EUR"))
        self.add_grant(account, row["grant_id"], "purchase", amount, None, price=price)
        return row["grant_id"]

    def top_up_after_debit(self, account: str) -> None:
        """A debit of the account with the auto top-up, paid or refused, requests one where the model says so."""
        if account != self.topped or self.available(account) >= TOP_UP_BELOW:
            return
        if any(r[2] == "open" for r in self.top_ups) or (self.top_up_next_at or self.now) > self.now:
            return
        if sum((r[1] for r in self.top_ups if r[2] != "failed"), Decimal(0)) + TOP_UP_CREDITS > TOP_UP_LIMIT:
            return
        self.top_ups.append([None, TOP_UP_CREDITS, "open", self.now])
        self.top_up_next_at = self.now + self.top_up_backoff

    @rule(target=grants, pay=st.booleans())
    def answer_top_up(self, pay: bool) -> Any:
        """The payment worker: pays the open request (twice, as a retry would) or declines it."""
        open_ = [r for r in self.top_ups if r[2] == "open"]
        if not open_:
            return multiple()
        request = open_[0]
        if not pay:
            self.one("select status from credits.fail_top_up(%s, 'card declined')", (request[0],))
            request[2] = "failed"
            self.top_up_next_at = self.now + self.top_up_backoff * 2
            self.top_up_backoff *= 2
            return multiple()
        call = "select grant_id from credits.purchase_credits(%s, %s, %s, price => 5.00, currency => 'EUR')"
        row = self.one(call, (self.topped, TOP_UP_CREDITS, request[0]))
        assert self.one(call, (self.topped, TOP_UP_CREDITS, request[0])) == row, "a retried worker was credited again"
        request[2] = "fulfilled"
        self.top_up_backoff = TOP_UP_COOLDOWN
        self.top_up_next_at = request[3] + TOP_UP_COOLDOWN
        self.add_grant(self.topped, row["grant_id"], "purchase", TOP_UP_CREDITS, None, price=Decimal("5.00"))
        return row["grant_id"]

    @rule(target=debits, account=accounts, amount=amounts, key=st.none() | st.sampled_from(["k1", "k2", "k3"]))
    def deduct(self, account: str, amount: Decimal, key: str | None) -> Any:
        if key is not None and (account, key) in self.keys and self.keys[(account, key)][0] != amount:
            self.refused("PT409", "select * from credits.deduct_credits(%s, 'roast', amount => %s,"
                         " idempotency_key => %s)", (account, amount, key))
            return multiple()
        row = self.one("select ok, reason, transaction_id, charged from credits.deduct_credits(%s, 'roast',"
                       " amount => %s, idempotency_key => %s)", (account, amount, key))
        if key is not None and (account, key) in self.keys:
            assert row["ok"] and row["transaction_id"] == self.keys[(account, key)][1], "a retry was charged again"
            return multiple()
        draws = self.spend_plan(account, amount, overdraft=True)
        if draws is None:
            assert (row["ok"], row["reason"]) == (False, "insufficient_credits"), row
            self.top_up_after_debit(account)
            return multiple()
        assert row["ok"] and row["charged"] == amount, row
        if key is not None:
            self.keys[(account, key)] = (amount, row["transaction_id"])
        for g, take in draws:
            g.remaining -= take
        self.count_pool(draws, account)
        debit = Debit(row["transaction_id"], account, draws)
        debit.overdraft = debit.overdraft + amount - debit.charged
        if debit.overdraft:
            self.debt[account] += debit.overdraft
        (ledger,) = self.sql("select debt from credits.ledger where transaction_id = %s", (row["transaction_id"],))
        assert ledger["debt"] == (debit.overdraft or None), (ledger, debit)
        self.top_up_after_debit(account)
        return debit

    @rule(target=debits, amount=amounts)
    def deduct_topped_up(self, amount: Decimal) -> Any:
        """A debit of the account with the auto top-up."""
        return self.deduct(self.topped, amount, None)

    @rule(target=holds, account=accounts, amount=amounts, minutes=st.integers(1, 120))
    def reserve(self, account: str, amount: Decimal, minutes: int) -> Any:
        row = self.one("select ok, reason, hold_id, held, expires_at from credits.reserve_credits(%s, 'roast',"
                       " ttl => make_interval(mins => %s), amount => %s)", (account, minutes, amount))
        earmarks = self.spend_plan(account, amount)
        if earmarks is None:
            assert (row["ok"], row["reason"]) == (False, "insufficient_credits"), row
            return multiple()
        assert row["ok"] and row["held"] == amount, row
        # No hold outlives the given grants it earmarks by more than 15 minutes (SPEC §1 hold).
        expires_at = min([self.now + timedelta(minutes=minutes)]
                         + [g.expires_at + timedelta(minutes=15) for g, _ in earmarks
                            if g.source != "purchase" and g.expires_at is not None])
        assert row["expires_at"] == expires_at, (row, expires_at)
        hold = Hold(row["hold_id"], account, earmarks, expires_at)
        self.all_holds.append(hold)
        return hold

    @rule(target=debits, hold=holds, part=st.none() | st.integers(1, 100))
    def capture(self, hold: Hold, part: int | None) -> Any:
        total = sum((a for _, a in hold.earmarks), Decimal(0))
        amount = None if part is None else (total * part / 100).quantize(Decimal("0.01"))
        if amount is not None and amount <= 0:
            amount = None
        call = "select ok, reason, transaction_id, charged from credits.capture_hold(%s, %s)"
        if hold.status == "captured":
            assert hold.result is not None
            if (total if amount is None else amount) != hold.result[1]:
                self.refused("PT409", call, (hold.hold_id, amount))  # another amount: not a replay
                return multiple()
            row = self.one(call, (hold.hold_id, amount))
            assert (row["ok"], row["transaction_id"]) == (True, hold.result[0]), "a second capture charged again"
            return multiple()
        row = self.one(call, (hold.hold_id, amount))
        if hold.status == "released":
            assert (row["ok"], row["reason"]) == (False, "hold_released"), row
            return multiple()
        if hold.status == "expired" or hold.expires_at <= self.now:
            assert (row["ok"], row["reason"]) == (False, "hold_expired"), row
            hold.status = "expired"
            return multiple()
        charge = total if amount is None else amount
        assert row["ok"] and row["charged"] == charge, row
        draws, left = [], charge
        for g, earmark in hold.earmarks:
            take = min(earmark, left)
            if take > 0:
                g.remaining -= take
                draws.append((g, take))
                left -= take
        hold.status, hold.result = "captured", (row["transaction_id"], charge)
        self.count_pool(draws, hold.account)
        return Debit(row["transaction_id"], hold.account, draws)

    @rule(hold=holds)
    def release(self, hold: Hold) -> None:
        row = self.one("select released from credits.release_hold(%s)", (hold.hold_id,))
        if hold.status == "held" and hold.expires_at > self.now:
            assert row["released"] == sum((a for _, a in hold.earmarks), Decimal(0)), row
            hold.status = "released"
        else:
            assert row["released"] == 0, row
            if hold.status == "held":
                hold.status = "expired"

    @rule(debit=debits, part=st.none() | st.integers(1, 100))
    def refund(self, debit: Debit, part: int | None) -> None:
        amount = None if part is None else (debit.charged * part / 100).quantize(Decimal("0.01"))
        if amount is not None and amount <= 0:
            amount = None
        wanted = debit.refundable if amount is None else amount
        if wanted <= 0 or wanted > debit.refundable:
            self.refused("PT409", "select * from credits.refund_transaction(%s, 'model', %s)",
                         (debit.transaction_id, amount))
            return
        (last,) = self.sql("select max(entry_id) as id from credits_private.ledger_entries")
        self.sql("select refund_id from credits.refund_transaction(%s, 'model', %s)", (debit.transaction_id, amount))
        # Where each part went: the paying grant itself, or a new refund grant (ids from the refund rows' draws:
        # a member's debit its pool paid in part is refunded in two rows, the pool's and the member's).
        refund_draws = [d for r in self.sql(
            "select draws from credits_private.ledger_entries where entry_id > %s and kind = 'refund'", (last["id"],))
            for d in r["draws"]]
        targets = {d["of_grant_id"]: d["grant_id"] for d in refund_draws if "of_grant_id" in d}
        left = wanted
        # The overdraft part first: to the debt, and what a grant repaid already to a new refund grant.
        back = min(left, debit.overdraft - debit.overdraft_refunded)
        if back > 0:
            debit.overdraft_refunded += back
            repaid = min(back, self.debt[debit.account])
            self.debt[debit.account] -= repaid
            if back > repaid:
                (target,) = [d["grant_id"] for d in refund_draws if d.get("overdraft") and "grant_id" in d]
                self.add_grant(debit.account, target, "refund", back - repaid, None, repays=False)
            left -= back
        for g, take in reversed(debit.draws):
            if left == 0:
                break
            back = min(left, take - debit.refunded.get(g.grant_id, Decimal(0)))
            if back <= 0:
                continue
            debit.refunded[g.grant_id] = debit.refunded.get(g.grant_id, Decimal(0)) + back
            g.spent -= back
            self.count_pool([(g, back)], debit.account, -1)
            if g.live(self.now):
                assert targets[g.grant_id] == g.grant_id, "a refund to a live grant went elsewhere"
                g.remaining += back
            else:
                assert targets[g.grant_id] != g.grant_id, "a refund went to a grant that has ended"
                refund_grant = self.add_grant(g.account, targets[g.grant_id], "refund", back, None, repays=False)
                refund_grant.priority = g.priority
            left -= back
            if left == 0:
                break

    @rule(grant_id=grants)
    def void(self, grant_id: int) -> None:
        g = self.grants_by_id[grant_id]
        if g.ended(self.now):
            assert self.one("select voided from credits.void_grant(%s, 'model')", (grant_id,))["voided"] == 0
            return
        row = self.one("select voided from credits.void_grant(%s, 'model')", (grant_id,))
        assert row["voided"] == g.remaining - self.earmarked(g), row
        g.voided = g.moved_otherwise = True

    @rule(amount=amounts, hold=st.booleans())
    def spend_lazily_settled(self, amount: Decimal, hold: bool) -> None:
        """Spend on the account of allowances; whatever the outcome, reads agree (the invariant below)."""
        if hold:
            self.sql("select * from credits.reserve_credits(%s, 'roast', amount => %s, ttl => '90 minutes')",
                     (self.lazy, amount))
        else:
            self.sql("select * from credits.deduct_credits(%s, 'roast', amount => %s)", (self.lazy, amount))

    @rule(minutes=st.integers(1, 240), sweep=st.booleans())
    def travel(self, minutes: int, sweep: bool) -> None:
        self.now += timedelta(minutes=minutes)
        self.sql("select set_config('credits.now', %s, false)", (self.now.isoformat(),))
        if sweep:
            self.sql("select * from credits.expire_grants()")
            self.sql("select * from credits.expire_holds()")

    # -- invariants --------------------------------------------------------------------------------

    @invariant()
    def balances_match_the_model(self) -> None:
        for name in [*self.names, self.pool, self.topped]:
            rows = self.sql("select available, held from credits.get_balance(%s) where credit_type = 'credits'",
                            (name,))
            available = rows[0]["available"] if rows else Decimal(0)
            assert available == self.available(name), (name, available, self.available(name))

    @invariant()
    def reads_agree_before_and_after_settling(self) -> None:
        """One meaning of available: get_balance before settling = after, = credits.balances (issue 12)."""
        read = ("select credit_type, available, held, granted_this_period, used_this_period, period_start,"
                " period_end, next_reset_at, plan, buckets from credits.get_balance(%s) order by credit_type")
        for name in [*self.names, self.pool, self.lazy]:
            before = self.sql(read, (name,))
            view = {(r["credit_type"], r["available"], r["held"]) for r in self.sql(
                "select credit_type, available, held from credits.balances where account_id = %s", (name,))}
            assert view <= {(r["credit_type"], r["available"], r["held"]) for r in before}, (view, before)
            with self.conn.transaction(force_rollback=True):
                self.sql("select * from credits.get_or_create_active_period(%s)", (name,))
                assert self.sql(read, (name,)) == before, name

    @invariant()
    def settled_reads_are_the_renewal_helpers(self) -> None:
        """get_balance and check_feature's settled read (issue 13) = their answer through the renewal helpers."""
        for name in [*self.names, self.pool, self.lazy, self.topped]:
            for read, helpers in [
                ("select r::text as r from credits.get_balance(%s) r",
                 "select r::text as r from credits_private.accounts a,"
                 " credits_private._balance_rows(a, credits.now()) r where a.account_id = %s"),
                ("select r::text as r from credits.check_feature(%s, 'roast') r",
                 "select r::text as r from credits_private.accounts a,"
                 " credits_private._feature_check(a, 'roast', '{}', credits.now()) r where a.account_id = %s"),
            ]:
                assert self.sql(read, (name,)) == self.sql(helpers, (name,)), (name, read)

    @invariant()
    def members_see_their_slice(self) -> None:
        for name in self.names:
            row = self.one("select pool_available, pool_cap_remaining from credits.get_balance(%s)"
                           " where credit_type = 'credits'", (name,))
            if name not in self.caps:
                assert row == {"pool_available": None, "pool_cap_remaining": None}, (name, row)
            else:
                assert (row["pool_available"], row["pool_cap_remaining"]) == (self.pool_slice(name),
                                                                               self.cap_left(name)), (name, row)

    @invariant()
    def revenue_matches_the_model(self) -> None:
        """Each priced grant's recognized revenue: its price prorated on what was spent of it (repaid included)."""
        stored = {r["grant_id"]: r["money"] for r in self.sql(
            "select grant_id, sum(money) as money from credits_private.paid_grant_moves"
            " where account_id = any(%s) and kind in ('debit', 'capture', 'refund', 'grant') group by grant_id",
            ([*self.names, self.topped],))}
        for g in self.grants_by_id.values():
            if g.price is None or g.moved_otherwise:
                continue
            expected = (g.price * (g.repaid + g.spent) / g.amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            assert stored.get(g.grant_id, Decimal(0)) == expected, (g, stored.get(g.grant_id))

    @invariant()
    def top_ups_match_the_model(self) -> None:
        rows = self.sql("select request_id, credits, status, created_at from credits.top_up_requests"
                        " where account_id = %s order by created_at, request_id", (self.topped,))
        for request, row in zip(self.top_ups, rows):
            request[0] = request[0] or row["request_id"]
        assert [[r["request_id"], r["credits"], r["status"], r["created_at"]] for r in rows] == self.top_ups, (
            rows, self.top_ups)
        events = self.one("select count(*) as n from credits.events where account_id = %s"
                          " and kind = 'top_up_requested'", (self.topped,))
        assert events["n"] == len(self.top_ups)
        settings = self.one("select backoff, next_request_at from credits.auto_top_ups where account_id = %s",
                            (self.topped,))
        assert (settings["backoff"], settings["next_request_at"]) == (self.top_up_backoff, self.top_up_next_at)

    @invariant()
    def ledger_reconciles(self) -> None:
        assert self.sql("select * from credits.reconciliation") == []


def test_random_operations_match_the_model(db: str) -> None:
    with psycopg.connect(db, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("select tests.catalog()")
        conn.execute("select credits.upsert_plan('empty')")
        conn.execute("select credits.set_plan_feature('empty', 'roast')")
        conn.execute("select credits.upsert_plan('lazy', monthly_allowance => '{\"credits\": 10}',"
                     " daily_allowance => '{\"credits\": 2}',"
                     " rollover => '{\"credits\": {\"max\": 7.5, \"fraction\": 0.333333}}',"
                     " overdraft => '{\"credits\": 5}')")
        conn.execute("select credits.set_plan_feature('lazy', 'roast')")
        conn.execute("select credits.upsert_plan('overdrawn', overdraft => '{\"credits\": 20}')")
        conn.execute("select credits.set_plan_feature('overdrawn', 'roast')")
        Ledger.conn = conn
        machine = Ledger.TestCase
        machine.settings = settings(max_examples=int(os.environ.get("MODEL_EXAMPLES", "60")), stateful_step_count=40,
                                    deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
        machine().runTest()
