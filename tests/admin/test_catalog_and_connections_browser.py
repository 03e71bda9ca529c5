"""The products list and the connection form in a real browser (headless Debian Chromium
driven by Playwright), on the live demo's retailer with its three sandboxes connected.

Screenshots go to ``build/screenshots``; ``CHANNELHUB_SCREENSHOTS=docs/screenshots`` makes the
run refresh the ones in the docs. Without a Chromium the tests are skipped, saying why."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from channelhub.admin.users import Role, create_user
from channelhub.api.app import create_app
from channelhub.catalog.products import ProductInput, ValueInput
from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.demo.load import load_live_retailer
from channelhub.demo.runner import connect_channels, make_sandboxes
from channelhub.sandbox.amazon import create_app as amazon_app
from channelhub.sandbox.bol import create_app as bol_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sandbox.shopify import create_app as shopify_app
from channelhub.sync.connections import load_connection
from tests.admin.test_browser import CHROMIUM, PASSWORD, sign_in
from tests.factories import save

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / os.environ.get("CHANNELHUB_SCREENSHOTS", "build/screenshots")

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium)",
)
expect = playwright_api.expect


@pytest.fixture
def live(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The live demo's retailer, connected to its Shopify, bol.com and Amazon sandboxes."""
    monkeypatch.setenv("CHANNELHUB_SECRET_KEY", "browser-test-secret-key")
    get_settings.cache_clear()
    db = sqlite_db
    load_live_retailer(db)
    create_user(db, "ada", PASSWORD, Role.ADMIN)
    create_user(db, "mia", PASSWORD, Role.MERCHANDISER)
    boxes = make_sandboxes()
    with ExitStack() as stack:
        for name, app in (
            ("shopify", shopify_app(boxes.shopify)),
            ("bol", bol_app(boxes.bol)),
            ("amazon", amazon_app(boxes.amazon)),
        ):
            boxes.urls[name] = stack.enter_context(serve_in_thread(app))
        connect_channels(db, boxes)
        hub = stack.enter_context(serve_in_thread(create_app(db)))
        yield {"db": db, "url": hub, "bol": boxes.urls["bol"]}
    get_settings.cache_clear()


@pytest.fixture
def page() -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def shot(page: Any, name: str, full: bool = True) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def skus_shown(page: Any) -> list[str]:
    return [
        str(s)
        for s in page.locator("[data-testid=products] tbody tr[data-sku]").evaluate_all(
            "rows => rows.map(r => r.dataset.sku)"
        )
    ]


def test_a_merchandiser_pages_sorts_and_filters_the_products(
    page: Any, live: dict[str, Any]
) -> None:
    url, db = live["url"], live["db"]
    sign_in(page, url, "mia")
    page.click("nav >> text=products")
    table = page.locator("[data-testid=products]")
    # One row per product, one completeness cell per channel; a variant shows its model's name.
    expect(page.locator("[data-testid=total]")).to_have_text("28 found")
    expect(table.locator("tr[data-sku='TEE-ORG-BLA-S'] td.name")).to_have_text("Organic Tee")
    cell = table.locator("[data-cell='MUG-RED@bol']")
    expect(cell).to_have_attribute("title", re.compile("nl_NL: .*missing"))
    shot(page, "products")

    # Sort by name by clicking its header, then the other way.
    page.click("[data-testid=products] th >> a[data-sort=name]")
    expect(table.locator("tbody tr").first).to_have_attribute("data-sku", "TEE-LOGO")
    page.click("[data-testid=products] th >> a[data-sort=name]")
    expect(table.locator("tbody tr").first).to_have_attribute("data-sku", "MUG-WHITE")

    # Filter: what bol.com still misses, in the mugs family.
    page.select_option("select[name=incomplete]", "bol")
    page.select_option("select[name=family]", "mugs")
    page.click("button:has-text('filter')")
    expect(page.locator("[data-testid=total]")).not_to_have_text("28 found")
    shown = skus_shown(page)
    assert shown and all(sku.startswith("MUG-") for sku in shown)
    for sku in shown:
        expect(table.locator(f"[data-cell='{sku}@bol']")).not_to_have_text("✓")
    shot(page, "products-filtered")

    # Paging: with 40 more products the list runs to two pages of at most 50.
    extra = [
        ProductInput(
            f"CUP-{n:02d}", family="mugs", values=[ValueInput("name", f"Cup {n}", "en_US")]
        )
        for n in range(40)
    ]
    save(db, *extra)
    page.goto(f"{url}/admin/products?sort=sku")
    expect(page.locator("[data-testid=pager]")).to_contain_text("page 1 of 2")
    assert len(skus_shown(page)) == 50 and skus_shown(page)[0] == "CUP-00"
    page.click("[data-testid=pager] >> text=next")
    expect(page.locator("[data-testid=pager]")).to_contain_text("page 2 of 2")
    assert len(skus_shown(page)) == 18 and skus_shown(page)[-1] == "TEE-ORG-WHI-S"
    page.click("[data-testid=pager] >> text=previous")
    expect(page.locator("[data-testid=pager]")).to_contain_text("page 1 of 2")


def test_an_admin_adds_tests_and_edits_a_connection(page: Any, live: dict[str, Any]) -> None:
    url, db, bol = live["url"], live["db"], live["bol"]
    sign_in(page, url, "ada")
    page.click("nav >> text=channels")
    connections = page.locator("[data-testid=connections]")
    for code in ("webshop", "bol", "amazon"):
        expect(connections.locator(f"tr[data-connection={code}]")).to_be_visible()
    shot(page, "connections")

    # Add a second bol.com connection from the form the connector's schema generates.
    page.select_option("[data-testid=add-connection] select[name=platform]", "bol")
    page.click("[data-testid=add-connection] button")
    expect(page.locator("h1")).to_have_text("New bol connection")
    page.fill("input[name='connection.code']", "bol-be")
    page.select_option("select[name='connection.channel']", "bol")
    page.fill("input[name='config.client_id']", "sandbox-client")
    page.fill("input[name='config.client_secret']", "sandbox-secret")
    page.fill("input[name='config.api_url']", bol)
    page.fill("input[name='config.login_url']", bol)
    page.fill("input[name='config.max_days_to_customer']", "30")
    page.uncheck("input[name='config.countries.NL']")
    page.click("summary:has-text('Mapping')")
    page.fill("input[name='mapping.title']", "{{ name }} · {{ brand }}")
    page.click("[data-testid=save]")
    # The platform's rule, next to its field; the secret typed is not sent back.
    error = page.locator("[data-field='config.max_days_to_customer'] .error")
    expect(error).to_contain_text("less than or equal to 14")
    expect(page.locator("input[name='config.client_secret']")).to_have_value("")
    expect(page.locator("input[name='config.max_days_to_customer']")).to_have_value("30")
    page.locator("[data-field='config.max_days_to_customer']").scroll_into_view_if_needed()
    shot(page, "connection-form-error", full=False)
    page.fill("input[name='config.max_days_to_customer']", "3")
    page.fill("input[name='config.client_secret']", "sandbox-secret")
    page.click("[data-testid=save]")
    expect(page.locator(".flash.ok")).to_contain_text("connection bol-be saved")
    secret = page.locator("input[name='config.client_secret']")
    expect(secret).to_have_value("")
    expect(secret).to_have_attribute("placeholder", "set · leave blank to keep")

    # Test connection: the sandbox's own answer is shown.
    page.click("[data-testid=test]")
    expect(page.locator("[data-testid=answer]")).to_contain_text("bol.com retailer account reached")

    # Edit with the secret left blank: it is kept, and the connection still reaches bol.com.
    page.fill("input[name='config.order_page_size']", "20")
    page.click("[data-testid=save]")
    expect(page.locator(".flash.ok")).to_contain_text("saved")
    record = load_connection(db, "bol-be")
    assert record.config.client_secret.get_secret_value() == "sandbox-secret"  # type: ignore[attr-defined]
    assert record.config.order_page_size == 20 and record.config.countries == ("BE",)  # type: ignore[attr-defined]
    page.click("[data-testid=test]")
    expect(page.locator("[data-testid=answer]")).to_have_class(re.compile("ok"))
    shot(page, "connection")

    # The mapping preview of one product with the title template typed above.
    page.fill("[data-testid=preview-form] input[name=sku]", "MUG-WHITE")
    page.click("[data-testid=preview-form] button")
    expect(page.locator("[data-testid=preview]")).to_contain_text("Stenen mok white · Hearth & Co")
    shot(page, "connection-preview")

    # A wrong secret: the platform's refusal is shown as the answer.
    page.fill("input[name='config.client_secret']", "not-the-secret")
    page.click("[data-testid=save]")
    page.click("[data-testid=test]")
    answer = page.locator("[data-testid=answer]")
    expect(answer).to_contain_text("The test failed")
    expect(answer).not_to_contain_text("not-the-secret")
