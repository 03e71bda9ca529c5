"""The customers pages in headless Chromium, by real clicks: a service user searches a
customer, confirms a merge suggestion, opens the 360° profile and records a consent; an admin
erases the customer by typing the confirmation. Screenshots go to ``build/screenshots``
(customers.png, customer.png). Skipped, saying why, without Playwright or Chromium
(test_browser's checks)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channelhub.admin.users import Role, create_user
from channelhub.api.app import create_app
from channelhub.core.database import Database
from channelhub.customers import service as customers
from channelhub.customers.journeys import carts, consent, interactions, segments
from channelhub.customers.journeys.consent import Purpose
from channelhub.customers.journeys.interactions import InteractionKind
from channelhub.sandbox.server import serve_in_thread
from tests.admin import test_browser as browser
from tests.admin.test_customers_pages import People, make_people
from tests.customers.journeys.conftest import make_shop

playwright_api = browser.playwright_api
pytestmark = browser.pytestmark


@pytest.fixture
def hub(sqlite_db: Database) -> Iterator[tuple[str, Database, People]]:
    make_shop(sqlite_db)
    people = make_people(sqlite_db)
    # a fuller profile for the screenshot: segments, a cart started in the app, a ticket
    segments.compute_segments(sqlite_db)
    cart = carts.open_cart(sqlite_db, "app", people.ann)
    carts.add_line(sqlite_db, cart.token, "MUG-2", 1, "app")
    interactions.log_interaction(
        sqlite_db, people.ann, InteractionKind.TICKET, "web", "Late parcel", "Where is W1?", "kim"
    )
    create_user(sqlite_db, "sue", browser.PASSWORD, Role.SERVICE)
    create_user(sqlite_db, "ada", browser.PASSWORD, Role.ADMIN)
    with serve_in_thread(create_app(sqlite_db)) as url:
        yield url, sqlite_db, people


@pytest.fixture
def page(hub: tuple[str, Database, People]) -> Iterator[object]:
    browser.SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=browser.CHROMIUM, args=["--no-sandbox"])
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        context.close()
        chromium.close()


def test_service_reviews_merges_and_an_admin_erases_a_customer(
    page: object, hub: tuple[str, Database, People]
) -> None:
    url, db, people = hub
    expect = playwright_api.expect
    pair_of = {people.ann, people.anne}
    (suggestion,) = [
        s.id for s in customers.suggestions(db) if {s.profile_a, s.profile_b} == pair_of
    ]
    browser.sign_in(page, url, "sue")

    # Search Ann by her last name; the pending merge suggestions are on the same page.
    page.click("nav >> text=customers")  # type: ignore[attr-defined]
    page.fill("input[name=q]", "visser")  # type: ignore[attr-defined]
    page.click("button:has-text('search')")  # type: ignore[attr-defined]
    rows = page.locator("[data-testid=customers] tr[data-customer]")  # type: ignore[attr-defined]
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ann@visser.nl")
    pair = page.locator(f"[data-testid=suggestion-{suggestion}]")  # type: ignore[attr-defined]
    expect(pair).to_contain_text("Anne Viser")
    browser.shot(page, "customers")

    # Ann on web and Anne on bol are one person: confirm by clicking.
    pair.locator("button:has-text('confirm')").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"suggestion {suggestion} confirmed")  # type: ignore[attr-defined]
    expect(page.locator(f"[data-testid=suggestion-{suggestion}]")).to_have_count(0)  # type: ignore[attr-defined]
    assert customers.get_profile(db, people.anne).id == people.ann

    # Open her profile from the search; bol's record is part of it now.
    page.fill("input[name=q]", "ann@visser.nl")  # type: ignore[attr-defined]
    page.click("button:has-text('search')")  # type: ignore[attr-defined]
    page.locator(f"tr[data-customer='{people.ann}'] a").first.click()  # type: ignore[attr-defined]
    expect(page.locator("h1")).to_contain_text(f"Customer {people.ann}")  # type: ignore[attr-defined]
    expect(page.locator("[data-testid=records]")).to_contain_text("bol")  # type: ignore[attr-defined]
    expect(page.locator("[data-testid=orders]")).to_contain_text("W1")  # type: ignore[attr-defined]
    expect(page.locator("[data-testid=orders]")).to_contain_text("P1")  # type: ignore[attr-defined]

    # She agrees to the newsletter on the phone.
    form = page.locator("[data-testid=consent-form]")  # type: ignore[attr-defined]
    form.locator("select[name=purpose]").select_option("marketing_email")
    form.locator("input[name=source]").fill("phone")
    form.locator("button:has-text('grant')").click()
    expect(page.locator(".flash.ok")).to_contain_text("consent marketing_email granted")  # type: ignore[attr-defined]
    expect(page.locator("[data-testid=consent-history]")).to_contain_text("phone")  # type: ignore[attr-defined]
    current, _ = consent.consents(db, people.ann)
    assert next(c.granted for c in current if c.purpose == Purpose.MARKETING_EMAIL)
    browser.shot(page, "customer")
    # On a tablet the profile fits the screen's width: wide tables scroll inside themselves.
    page.set_viewport_size({"width": 820, "height": 1180})  # type: ignore[attr-defined]
    page.reload()  # type: ignore[attr-defined]
    overflow = page.evaluate(  # type: ignore[attr-defined]
        "document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 1, f"the profile is {overflow} px wider than a tablet"
    browser.shot(page, "customer-tablet")
    page.set_viewport_size({"width": 1280, "height": 900})  # type: ignore[attr-defined]

    # Erasure is the admin's: the service user has no erase form.
    expect(page.locator("[data-testid=erase]")).to_have_count(0)  # type: ignore[attr-defined]
    page.click("button:has-text('sign out')")  # type: ignore[attr-defined]
    browser.sign_in(page, url, "ada")
    page.goto(f"{url}/admin/customers/{people.ann}")  # type: ignore[attr-defined]
    # Erase: a wrong confirmation erases nothing; typing ERASE does.
    erase = page.locator("[data-testid=erase]")  # type: ignore[attr-defined]
    erase.locator("input[name=confirm]").fill("yes")
    erase.locator("button").click()
    expect(page.locator(".flash.error")).to_contain_text("nothing erased")  # type: ignore[attr-defined]
    assert customers.get_profile(db, people.ann).erased_at is None
    erase = page.locator("[data-testid=erase]")  # type: ignore[attr-defined]
    erase.locator("input[name=confirm]").fill("ERASE")
    erase.locator("button").click()
    expect(page.locator("[data-testid=erased]")).to_be_visible()  # type: ignore[attr-defined]
    expect(page.locator("[data-testid=golden]")).not_to_contain_text("Visser")  # type: ignore[attr-defined]
    assert customers.get_profile(db, people.ann).erased_at is not None
