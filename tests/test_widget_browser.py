"""The widget in a real browser: Debian's headless Chromium driven by Playwright (docs/widget.md).

No browser is downloaded: Playwright drives /usr/bin/chromium (the Makefile installs the `chromium`
package). Without it, or without Playwright, these tests fail; they never skip. Every wait is for a
condition in the page, with a timeout; screenshots go to the test's tmp folder, and with
PGCREDITS_UPDATE_DOCS=1 (make screenshots) also to docs/widget-*.png.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from pgcredits.dev.cluster import Cluster, free_port
from pgcredits.dev.demo import DEMO_ACCOUNT
from tests.test_gateway import GATEWAY_ROLE, Connect, Running, gateway_url, serving, token
from tests.test_widget import REPO, dev_gateway, with_example_catalog

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1100, "height": 760}
MOBILE = {"width": 375, "height": 740}
WAIT_MS = 10_000  # the longest any page condition may take (loaded 2-core machines included)
LIVE_MS = 1_000  # a backend debit reaches the counter within a second


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


class Pages:
    """Opens pages (each in its own context); collects the errors the pages raised; takes screenshots."""

    def __init__(self, browser: Browser, folder: Path) -> None:
        self.browser = browser
        self.folder = folder
        self.errors: list[str] = []
        self.expected: list[str] = []  # errors a test provokes (a gateway it stops), by a part of their text
        self._contexts: list[Any] = []

    def open(self, url: str, viewport: dict[str, int] = DESKTOP) -> Page:
        context = self.browser.new_context(viewport=viewport, locale="en-US", timezone_id="UTC")
        self._contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda err: self.errors.append(f"{url}: {err}"))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"{url}: {msg.text}"))
        page.goto(url)
        return page

    def shot(self, page: Page, name: str, *, selector: str | None = None) -> Path:
        """A PNG of the page (or of one element) in the tmp folder; also in docs/ under PGCREDITS_UPDATE_DOCS."""
        path = self.folder / f"widget-{name}.png"
        (page.locator(selector) if selector else page).screenshot(path=path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("PGCREDITS_UPDATE_DOCS"):
            shutil.copyfile(path, REPO / "docs" / path.name)
        return path

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def pages(browser: Browser, tmp_path: Path) -> Iterator[Pages]:
    opened = Pages(browser, tmp_path)
    yield opened
    opened.close()
    unexpected = [err for err in opened.errors if not any(part in err for part in opened.expected)]
    assert unexpected == [], "the pages raised errors"


@pytest.fixture
def demo(dev_gateway: Running) -> Running:
    """The gateway of `make run`: dev flag on, the example catalog (tests/test_widget.py's fixture)."""
    return dev_gateway


def backend(db: str, statement: str, *, notify: bool = True) -> None:
    """One statement as a backend (credits_service) would run it, outside the browser, committed."""
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("set role credits_service")
        if not notify:
            conn.execute("set credits.notify_balance_changed = off")
        conn.execute(statement)


def counter(page: Page) -> Any:
    return page.locator("credits-counter .pc-count")


def gate_button(page: Page, feature: str) -> Any:
    return page.locator(f'credits-gate[feature="{feature}"] button').first


def spend(page: Page, feature: str, expected: str) -> None:
    gate_button(page, feature).click()
    expect(counter(page)).to_have_text(expected, timeout=WAIT_MS)


def record_events(page: Page) -> None:
    """window.seen: what the page's client reports to subscribe() from now on (a function: evaluate calls it)."""
    page.evaluate("() => { window.seen = []; window.demoCredits.subscribe((event) => window.seen.push(event)); }")


def period_end(db: str) -> datetime:
    with psycopg.connect(db) as conn:
        (end,) = conn.execute("select period_end from credits.get_balance(%s)", [DEMO_ACCOUNT]).fetchone() or (None,)
    assert isinstance(end, datetime)
    return end


def shown_date(moment: datetime) -> str:
    """How the page (locale en-US, time zone UTC) writes the day of `moment`: "Jan 2, 2027"."""
    return f"{moment:%b} {moment.day}, {moment.year}"


def test_demo_counter_gate_keyboard_live_debit_warnings_and_purchase(demo: Running, db: str, pages: Pages) -> None:
    page = pages.open(f"{demo.base_url}/demo")
    expect(counter(page)).to_have_text("6/6 credits remaining", timeout=WAIT_MS)
    expect(page.locator("#who")).to_have_text(DEMO_ACCOUNT)
    expect(page.locator("credits-counter .pc-warning")).to_be_hidden()
    pages.shot(page, "counter", selector="header")

    for left in (5, 4, 3):  # free: video_render 3 a month, 2 s at 0.5 a second
        spend(page, "video_render", f"{left}/6 credits remaining")

    # The fourth render, reached and pressed with the keyboard only.
    render = gate_button(page, "video_render")
    for _ in range(12):
        page.keyboard.press("Tab")
        if render.evaluate("button => document.activeElement === button"):
            break
    expect(render).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=WAIT_MS)
    expect(dialog).to_have_attribute("data-reason", "period_limit_reached")
    expect(dialog).to_have_accessible_name("Limit reached for this period")
    expect(dialog).to_contain_text("Video render: 3 a month on your plan, and you have used all 3.")
    expect(dialog).to_contain_text(f"You can use it again from {shown_date(period_end(db))}")
    expect(counter(page)).to_have_text("3/6 credits remaining")  # refused: nothing charged
    pages.shot(page, "gate")

    # Focus starts in the modal and stays there: Tab and Shift+Tab wrap; Escape closes; focus returns.
    upgrade, close = dialog.get_by_role("button", name="Upgrade plan"), dialog.get_by_role("button", name="Close")
    expect(upgrade).to_be_focused()
    page.keyboard.press("Tab")
    expect(close).to_be_focused()
    page.keyboard.press("Tab")
    expect(upgrade).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(close).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(render).to_be_focused()

    # A backend debits outside the browser: the counter follows within a second, without polling.
    backend(db, f"select credits.deduct_credits('{DEMO_ACCOUNT}', 'roast')")
    expect(counter(page)).to_have_text("2/6 credits remaining", timeout=LIVE_MS)

    warning = page.locator("credits-counter .pc-warning")
    spend(page, "roast", "1/6 credits remaining")  # 5 of 6 used: past 80 %
    expect(warning).to_be_visible(timeout=WAIT_MS)
    expect(warning).to_have_attribute("data-level", "80")
    expect(warning).to_contain_text("You have used 80% of this period's credits: 1 left.")
    expect(warning).to_have_attribute("role", "alert")
    pages.shot(page, "warning", selector="header")
    spend(page, "roast", "0/6 credits remaining")
    expect(warning).to_have_attribute("data-level", "100")
    expect(warning).to_contain_text("You have used all of this period's credits.")

    # Out of credits: the gate says so, and its purchase prompt buys a pack (POST /demo/purchase).
    gate_button(page, "roast").click()
    expect(dialog).to_have_attribute("data-reason", "insufficient_credits", timeout=WAIT_MS)
    expect(dialog).to_contain_text("Roast costs 1 credit and you have 0.")
    dialog.get_by_role("button", name="Buy credits").click()
    expect(dialog).to_have_count(0)
    expect(counter(page)).to_have_text("10/16 credits remaining", timeout=WAIT_MS)
    expect(warning).to_be_hidden()
    history = page.locator("credits-history tbody tr")
    expect(history.first).to_contain_text("+10", timeout=WAIT_MS)
    expect(history).to_have_count(8)  # the signup grant, 6 debits, the purchase (refusals are no ledger rows)
    expect(page.locator("#log")).to_contain_text("recovered: available 10")  # subscribe() feeds the demo's log
    expect(page.locator("#log")).to_contain_text("balance_changed: available 10")


def test_a_second_tab_moves_the_first(demo: Running, pages: Pages) -> None:
    first = pages.open(f"{demo.base_url}/demo")
    expect(counter(first)).to_have_text("6/6 credits remaining", timeout=WAIT_MS)
    second = pages.open(f"{demo.base_url}/demo")
    spend(second, "chat", "4.95/6 credits remaining")
    expect(counter(first)).to_have_text("4.95/6 credits remaining", timeout=LIVE_MS)


def test_mobile_width(demo: Running, db: str, pages: Pages) -> None:
    page = pages.open(f"{demo.base_url}/demo", viewport=MOBILE)
    expect(counter(page)).to_have_text("6/6 credits remaining", timeout=WAIT_MS)
    for _ in range(3):
        backend(db, f"select credits.deduct_credits('{DEMO_ACCOUNT}', 'video_render', '{{\"seconds\": 2}}')")
    expect(counter(page)).to_have_text("3/6 credits remaining", timeout=WAIT_MS)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    gate_button(page, "video_render").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=WAIT_MS)
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= MOBILE["width"], box
    for button in dialog.get_by_role("button").all():
        size = button.bounding_box()
        assert size is not None and size["height"] >= 44, "touch targets of at least 44 px"
    pages.shot(page, "mobile")


def test_resync_when_the_gateway_asks(demo: Running, db: str, pages: Pages) -> None:
    """A change the stream never carried (its notification lost) reaches the counter through `resync`."""
    page = pages.open(f"{demo.base_url}/demo")
    expect(counter(page)).to_have_text("6/6 credits remaining", timeout=WAIT_MS)
    record_events(page)
    backend(db, f"select credits.deduct_credits('{DEMO_ACCOUNT}', 'roast')", notify=False)
    expect(counter(page)).to_have_text("6/6 credits remaining")
    # The gateway's listening connection drops: once back, it tells every stream to resync.
    with psycopg.connect(db, autocommit=True) as conn:
        dropped = conn.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity"
                               " where datname = current_database() and usename = %s"
                               " and application_name = 'pgcredits-gateway-listen'", [GATEWAY_ROLE]).fetchone()
    assert dropped == (1,), "one listening connection"
    expect(counter(page)).to_have_text("5/6 credits remaining", timeout=WAIT_MS)
    # The gateway's resync must arrive (under load the stream may also have reopened first, which re-reads too).
    page.wait_for_function("window.seen.some((e) => e.kind === 'resync' && e.data.why === 'resync')",
                           timeout=WAIT_MS)


def test_reconnect_and_resync_after_the_gateway_restarts(pg_cluster: Cluster, db: str, connect: Connect,
                                                         pages: Pages) -> None:
    with_example_catalog(pg_cluster, connect)
    port = free_port()
    # The stream cut by the stop, then its retries while the gateway is down.
    pages.expected += ["net::ERR_INCOMPLETE_CHUNKED_ENCODING", "net::ERR_CONNECTION_REFUSED"]
    with serving(gateway_url(pg_cluster, db), port=port, dev=True) as running:
        page = pages.open(f"{running.base_url}/demo")
        expect(counter(page)).to_have_text("6/6 credits remaining", timeout=WAIT_MS)
        record_events(page)
    page.wait_for_function("window.seen.some((e) => e.kind === 'disconnected')", timeout=WAIT_MS)
    backend(db, f"select credits.deduct_credits('{DEMO_ACCOUNT}', 'roast')")  # nobody is listening
    with serving(gateway_url(pg_cluster, db), port=port, dev=True):
        expect(counter(page)).to_have_text("5/6 credits remaining", timeout=30_000)
        backend(db, f"select credits.deduct_credits('{DEMO_ACCOUNT}', 'roast')")
        expect(counter(page)).to_have_text("4/6 credits remaining", timeout=WAIT_MS)
        assert page.evaluate("window.demoCredits.connected")


# --- another origin -------------------------------------------------------------------------------------------------


def test_the_widget_calls_a_gateway_on_another_origin(other_origin: Callable[[str], tuple[Running, str]],
                                                      db: str, pages: Pages) -> None:
    gateway, url = other_origin("alice")
    assert url.split("/")[2] != gateway.base_url.split("/")[2], "the page and the gateway are two origins"
    page = pages.open(url)
    # get_balance with a bearer token (a preflight), /events with ?access_token= (CORS on the stream).
    expect(counter(page)).to_have_text("6/6 credits remaining", timeout=WAIT_MS)
    page.wait_for_function("window.credits.connected", timeout=WAIT_MS)
    gate_button(page, "roast").click()  # check_feature, then deduct_credits with an Idempotency-Key
    expect(counter(page)).to_have_text("5/6 credits remaining", timeout=WAIT_MS)
    backend(db, "select credits.deduct_credits('alice', 'roast')")
    expect(counter(page)).to_have_text("4/6 credits remaining", timeout=LIVE_MS)
    page.locator("#clone").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_have_attribute("data-reason", "feature_not_in_plan", timeout=WAIT_MS)
    expect(dialog).to_contain_text("Voice clone is not included in your plan (free).")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)
    assert page.evaluate("window.cloned === undefined"), "a refused feature never reaches the app's handler"


def test_an_origin_not_allowed_gets_nothing(other_origin: Callable[[str], tuple[Running, str]], tmp_path: Path,
                                            pages: Pages) -> None:
    """PGCREDITS_CORS_ORIGINS names the page's origin; the same page from a third origin is refused by the browser."""
    _, allowed = other_origin("alice")
    with static_site(tmp_path) as stranger:
        pages.expected += ["blocked by CORS policy", "net::ERR_FAILED"]
        page = pages.open(allowed.replace(allowed.split("/")[2], stranger.split("/")[2]))
        expect(counter(page)).to_have_text("Credits unavailable", timeout=WAIT_MS)
        assert any("blocked by CORS policy" in err for err in pages.errors), pages.errors


def test_unlimited_plans_read_unlimited(other_origin: Callable[[str], tuple[Running, str]], db: str,
                                        pages: Pages) -> None:
    _, url = other_origin("tess")  # plan team: unlimited
    page = pages.open(url)
    expect(counter(page)).to_have_text("Unlimited", timeout=WAIT_MS)
    expect(page.locator("credits-counter button")).to_be_hidden()
    page.locator("#clone").click()  # every feature is in an unlimited plan: the app's handler runs
    page.wait_for_function("window.cloned === true", timeout=WAIT_MS)
    gate_button(page, "roast").click()  # charged, at 0
    page.wait_for_function("window.lastCharge && window.lastCharge.ok && window.lastCharge.charged === 0",
                           timeout=WAIT_MS)
    expect(counter(page)).to_have_text("Unlimited")
    expect(page.locator("credits-counter .pc-warning")).to_be_hidden()


CROSS_ORIGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>an app on another origin</title><link rel="icon" href="data:,">
</head><body>
<credits-counter></credits-counter>
<credits-gate feature="roast" deduct><button type="button">Roast</button></credits-gate>
<credits-gate feature="voice_clone"><button type="button" id="clone">Clone a voice</button></credits-gate>
<script type="module">
  import { createCredits } from "%(gateway)s/widget/pgcredits.js";
  window.credits = createCredits({ url: "%(gateway)s", token: "%(token)s" });
  document.querySelector("#clone").addEventListener("click", () => { window.cloned = true; });
  document.addEventListener("credits-allowed", (event) => { window.lastCharge = event.detail.charge; });
</script>
</body></html>
"""


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class names it so)
        """No line per request on stderr."""


@contextlib.contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """A plain HTTP server for `folder` on its own loopback port: another origin than the gateway's."""
    handler = functools.partial(_QuietFiles, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def other_origin(pg_cluster: Cluster, db: str, connect: Connect, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], tuple[Running, str]]]:
    """A gateway without the dev flag allowing one origin, and pages of that origin embedding the widget.

    The factory takes a user (alice: free plan, tess: team, unlimited) and gives the gateway and the URL of
    a page signed in as that user. voice_clone is a feature of no plan but team's.
    """
    conn = with_example_catalog(pg_cluster, connect)
    conn.execute("select credits.upsert_feature('voice_clone', base_cost => 5)")
    conn.execute("select credits.set_plan_feature('team', 'voice_clone')")
    conn.execute("select credits.open_account('alice')")
    conn.execute("select credits.open_account('tess', 'team')")
    with contextlib.ExitStack() as stack:
        site = stack.enter_context(static_site(tmp_path))
        monkeypatch.setenv("PGCREDITS_CORS_ORIGINS", site)
        gateway = stack.enter_context(serving(gateway_url(pg_cluster, db)))

        def page_for(sub: str) -> tuple[Running, str]:
            (tmp_path / f"{sub}.html").write_text(CROSS_ORIGIN_PAGE % {
                "gateway": gateway.base_url, "token": token(sub, expires_in=3600)})
            return gateway, f"{site}/{sub}.html"

        yield page_for
