"""Quickstart with the Python client `pgcredits.Credits`: the steps of 01_quickstart.sql, from Python.

Methods are named as the SQL functions, keyword arguments as their
parameters; results are pydantic models with `Decimal` amounts; a refusal by
the database is a typed exception. Run it against a fresh database migrated
with the example catalog (examples/README.md):

    DATABASE_URL=postgresql://... .venv/bin/python examples/quickstart.py
"""

from __future__ import annotations

import os
from decimal import Decimal

from pgcredits import Credits, InvalidArgument

# The clock, fixed for this session so the output is the same on every run
# (the database must allow it: credits.allow_clock_override = on).
CLOCK = "2027-01-05T09:00:00Z"


def main() -> None:
    options = f"-c credits.now={CLOCK} -c timezone=UTC"
    with Credits(os.environ["DATABASE_URL"], options=options) as credits:
        account = credits.open_account(account_id="py_42", plan="free")
        print(f"opened {account.account_id} on {account.plan}, period ends {account.period_end}")

        check = credits.check_feature(account_id="py_42", feature="chat",
                                      units={"input_tokens": 1200, "output_tokens": 300})
        print(f"a chat message would cost {check.cost} of {check.available} available: allowed={check.allowed}")

        charge = credits.deduct_credits(account_id="py_42", feature="chat",
                                        units={"input_tokens": 1200, "output_tokens": 300})
        print(f"chat: ok={charge.ok} charged={charge.charged} available={charge.available}")

        first = credits.deduct_credits(account_id="py_42", feature="video_render", units={"seconds": 8},
                                       idempotency_key="render-1")
        retry = credits.deduct_credits(account_id="py_42", feature="video_render", units={"seconds": 8},
                                       idempotency_key="render-1")
        print(f"render-1: charged={first.charged}, retried: same result={retry == first}")

        refused = credits.deduct_credits(account_id="py_42", feature="video_render", units={"seconds": 8},
                                         idempotency_key="render-2")
        print(f"render-2: ok={refused.ok} reason={refused.reason}")

        purchase = credits.purchase_credits(account_id="py_42", amount=Decimal(50), payment_ref="stripe:pi_py42")
        print(f"bought 50: available={purchase.available}")

        # A debit in the app's own transaction: when the app's work fails, the debit is rolled back with it.
        try:
            with credits.transaction() as tx:
                tx.deduct_credits(account_id="py_42", feature="video_render", units={"seconds": 8},
                                  idempotency_key="render-2")
                raise RuntimeError("the app's own write failed")
        except RuntimeError as err:
            print(f"rolled back ({err})")
        with credits.transaction() as tx:
            again = tx.deduct_credits(account_id="py_42", feature="video_render", units={"seconds": 8},
                                      idempotency_key="render-2")
            print(f"render-2 again: ok={again.ok} charged={again.charged} available={again.available}")

        # The database says what is wrong: an admin grant needs a reason.
        try:
            credits.grant_credits(account_id="py_42", amount=Decimal(5), source="admin")
        except InvalidArgument as err:
            print(f"{type(err).__name__} {err.code}: {err.message}")

        for balance in credits.get_balance(account_id="py_42"):
            buckets = ", ".join(f"{source} {amount}" for source, amount in balance.buckets.items())
            print(f"{balance.credit_type}: available={balance.available} used={balance.used_this_period} ({buckets})")
        for row in credits.get_history(account_id="py_42"):
            line = f"  #{row.transaction_id} {row.kind:<6} {row.amount:>10} -> {row.balance_after:>10}"
            print(f"{line} {row.feature}" if row.feature else line)


if __name__ == "__main__":
    main()
