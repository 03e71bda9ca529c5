"""The admin in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright
through real clicks on the main flows. Screenshots of every page are kept in
``build/screenshots`` as test artefacts. Without a Chromium the tests are skipped, saying why."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from channelhub.admin.users import Role, create_user
from channelhub.api.app import create_app
from channelhub.core.database import Database
from channelhub.orders import service as orders
from channelhub.orders.fulfilment import ship
from channelhub.sandbox.server import serve_in_thread
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock
from tests.orders.factories import order

CHROMIUM = os.environ.get("CHANNELHUB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
PASSWORD = "correct horse battery"

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium)",
)


@pytest.fixture
def hub(sqlite_db: Database) -> Iterator[tuple[str, int]]:
    db = sqlite_db
    make_world(db)
    save(db, mug("MUG-1"), mug("MUG-2"), mug("MUG-3"))
    stock(db, "wh", MUG_1=12, MUG_2=4, MUG_3=1)
    stock(db, "ams", MUG_1=2)
    create_user(db, "ada", PASSWORD, Role.ADMIN)
    create_user(db, "sam", PASSWORD, Role.STOCK)
    placed = orders.import_order(db, order("W-100", ("MUG-1", 2), ("MUG-2", 1), paid=True))
    ship(db, placed.order_id or 0, "test")
    orders.import_order(db, order("B-7", ("MUG-3", 1), channel="bol", price="14.50"))
    with serve_in_thread(create_app(db)) as url:
        yield url, placed.order_id or 0


@pytest.fixture
def page(hub: tuple[str, int]) -> Iterator[object]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def sign_in(page: object, url: str, username: str) -> None:
    page.goto(f"{url}/admin/")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-testid=who]")  # type: ignore[attr-defined]


def shot(page: object, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_the_main_flows_by_clicking(page: object, hub: tuple[str, int]) -> None:
    url, order_id = hub
    expect = playwright_api.expect
    sign_in(page, url, "ada")
    expect(page.locator("[data-testid=orders]")).to_have_text("2")  # type: ignore[attr-defined]
    shot(page, "dashboard")

    # Products: search, open one, edit its Dutch name on the locale tab, save.
    page.click("nav >> text=products")  # type: ignore[attr-defined]
    page.fill("input[name=q]", "MUG-2")  # type: ignore[attr-defined]
    page.click("button:has-text('filter')")  # type: ignore[attr-defined]
    shot(page, "products")
    page.click("[data-testid=products] >> text=MUG-2")  # type: ignore[attr-defined]
    page.click("button[role=tab]:has-text('nl_NL · all channels')")  # type: ignore[attr-defined]
    page.fill("input[name='v:name:nl_NL:']", "Grote mok")  # type: ignore[attr-defined]
    page.click("button:has-text('save')")  # type: ignore[attr-defined]
    expect(page.locator(".flash.ok")).to_contain_text("saved 1 value(s)")  # type: ignore[attr-defined]
    expect(page.locator("[data-testid=history]")).to_contain_text("Grote mok")  # type: ignore[attr-defined]
    shot(page, "product")

    # Stock: count 20 of MUG-3 in the warehouse, then move 5 to the Amsterdam store.
    page.click("nav >> text=stock")  # type: ignore[attr-defined]
    form = page.locator("[data-testid=adjust]")  # type: ignore[attr-defined]
    form.locator("input[name=sku]").fill("MUG-3")
    form.locator("select[name=location]").select_option("wh")
    form.locator("select[name=kind]").select_option("count")
    form.locator("input[name=quantity]").fill("20")
    form.locator("button").click()
    expect(page.locator(".flash.ok")).to_contain_text("count of 20 MUG-3 at wh")  # type: ignore[attr-defined]
    move = page.locator("[data-testid=transfer]")  # type: ignore[attr-defined]
    move.locator("input[name=sku]").fill("MUG-3")
    move.locator("select[name=from]").select_option("wh")
    move.locator("select[name=to]").select_option("ams")
    move.locator("input[name=quantity]").fill("5")
    move.locator("button").click()
    expect(page.locator("[data-cell='MUG-3@ams']")).to_have_text("5")  # type: ignore[attr-defined]
    shot(page, "stock")

    # Orders: open the web order, take one mug back in the Rotterdam store.
    page.click("nav >> text=orders")  # type: ignore[attr-defined]
    shot(page, "orders")
    page.click(f"[data-testid=orders] >> text='{order_id}'")  # type: ignore[attr-defined]
    back = page.locator("[data-testid=return]")  # type: ignore[attr-defined]
    back.locator("input[name='line:1']").fill("1")
    back.locator("select[name=location]").select_option("rtm")
    back.locator("input[name=reason]").fill("too big")
    back.locator("button").click()
    expect(page.locator(".flash.ok")).to_contain_text("return of 1 unit(s)")  # type: ignore[attr-defined]
    expect(page.locator("[data-testid=returns]")).to_contain_text("too big")  # type: ignore[attr-defined]
    shot(page, "order")

    for name in ("channels", "sync", "audit", "users"):
        page.click(f"nav >> text={name}")  # type: ignore[attr-defined]
        expect(page.locator("h1")).to_be_visible()  # type: ignore[attr-defined]
        if name == "audit":
            expect(page.locator("[data-testid=scores]")).to_contain_text("bol")  # type: ignore[attr-defined]
        shot(page, name)


def test_a_stock_user_sees_only_their_pages_on_a_tablet(page: object, hub: tuple[str, int]) -> None:
    url, _ = hub
    page.set_viewport_size({"width": 820, "height": 1180})  # type: ignore[attr-defined]
    sign_in(page, url, "sam")
    nav = page.locator("nav")  # type: ignore[attr-defined]
    playwright_api.expect(nav).to_contain_text("stock")
    playwright_api.expect(nav).not_to_contain_text("users")
    shot(page, "dashboard-tablet")
    page.goto(f"{url}/admin/users")  # type: ignore[attr-defined]
    playwright_api.expect(page.locator("h1")).to_have_text("Not allowed")  # type: ignore[attr-defined]
