"""Carts that follow the customer: app -> web -> a store's till, sign-in merges, holds that
expire, checkout through the order pipeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict
from channelhub.customers import order_hook
from channelhub.customers.journeys import carts, feed, holds, loyalty
from channelhub.inventory import service as inventory
from channelhub.orders import service as orders
from tests.customers.journeys.conftest import customer


def test_a_cart_started_in_the_app_continues_on_the_web_and_at_the_till(
    shop: Database, api: TestClient
) -> None:
    ann = customer(shop, "ann@smit.nl", first_name="Ann", last_name="Smit")
    app_cart = api.post("/api/v1/carts", json={"channel": "app", "profile_id": ann}).json()
    token = app_cart["token"]
    added = api.post(
        f"/api/v1/carts/{token}/lines", json={"sku": "MUG-1", "quantity": 2, "channel": "app"}
    )
    assert added.status_code == 200, added.text
    assert added.json()["lines"][0]["held"] == 2

    # The same customer on the web: the same cart, with what the app put in.
    web_cart = api.post("/api/v1/carts", json={"channel": "web", "profile_id": ann}).json()
    assert web_cart["token"] == token
    assert web_cart["last_channel"] == "web"
    assert [(x["sku"], x["quantity"]) for x in web_cart["lines"]] == [("MUG-1", 2)]
    api.post(
        f"/api/v1/carts/{token}/lines", json={"sku": "SHIRT-1", "quantity": 1, "channel": "web"}
    )

    # At the store: the till finds the customer by e-mail, with their cart, and picks it up.
    found = api.get("/api/v1/pos/customers", params={"email": "ANN@smit.nl"})
    assert found.status_code == 200, found.text
    assert found.json()["profile_id"] == ann and found.json()["name"] == "Ann Smit"
    assert found.json()["cart"]["token"] == token
    assert {x["sku"]: x["quantity"] for x in found.json()["cart"]["lines"]} == {
        "MUG-1": 2,
        "SHIRT-1": 1,
    }
    picked = api.post(f"/api/v1/pos/carts/{token}/pick-up", json={"store": "ams", "channel": "pos"})
    assert picked.json()["location"] == "ams" and picked.json()["last_channel"] == "pos"

    sold = api.post(
        f"/api/v1/carts/{token}/checkout",
        json={"channel": "pos", "delivery_method": "in_store", "payment_status": "paid"},
    )
    assert sold.status_code == 200, sold.text
    body = sold.json()
    assert body["order_status"] == "collected"
    assert body["total"] == "45.00"  # 2 x 10.00 + 25.00
    assert body["cart"]["status"] == "checked_out" and body["cart"]["order_id"] == body["order_id"]
    order = orders.get_order(shop, body["order_id"])
    assert (order.channel, order.pickup_location, order.external_id) == (
        "pos",
        "ams",
        f"cart-{token}",
    )
    assert order.customer["email"] == "ann@smit.nl"  # from the golden record
    # The holds are gone; the till sale took the units from the store's shelf.
    assert carts.get_cart(shop, token).lines[0].held == 0
    assert inventory.available(shop, "web", ["MUG-1"]) == {"MUG-1": 11}
    # Identity resolution links the order to Ann by the e-mail the order carries (in
    # whichever order the two readers run); then the till sale earns her points.
    feed.catch_up(shop)
    assert order_hook.link_orders(shop) > 0
    feed.catch_up(shop)
    assert loyalty.account(shop, ann).balance == 45
    again = api.post(f"/api/v1/carts/{token}/checkout", json={"channel": "pos"})
    assert again.status_code == 409
    # A new visit starts a new cart.
    fresh = api.post("/api/v1/carts", json={"channel": "web", "profile_id": ann}).json()
    assert fresh["token"] != token and fresh["lines"] == []


def test_an_anonymous_cart_merges_into_the_customers_cart_on_sign_in(shop: Database) -> None:
    bob = customer(shop, "bob@example.com")
    mine = carts.open_cart(shop, "app", bob)
    carts.add_line(shop, mine.token, "MUG-1", 1, "app")
    anonymous = carts.open_cart(shop, "web")
    assert anonymous.profile_id is None and anonymous.token != mine.token
    carts.add_line(shop, anonymous.token, "MUG-1", 2, "web")
    carts.add_line(shop, anonymous.token, "MUG-2", 1, "web")

    merged = carts.sign_in(shop, anonymous.token, bob, "web")

    assert merged.token == mine.token
    assert {line.sku: line.quantity for line in merged.lines} == {"MUG-1": 3, "MUG-2": 1}
    assert {line.sku: line.held for line in merged.lines} == {"MUG-1": 3, "MUG-2": 1}
    assert carts.get_cart(shop, anonymous.token).status == carts.MERGED
    # Only the customer's cart holds stock now: 13 MUG-1 on web's locations, 3 held.
    assert inventory.available(shop, "web", ["MUG-1", "MUG-2"]) == {"MUG-1": 10, "MUG-2": 12}
    with pytest.raises(Conflict):
        carts.add_line(shop, anonymous.token, "MUG-1", 1, "web")

    # Signing in without a cart of one's own: the anonymous cart becomes the customer's.
    cy = customer(shop, "cy@example.com")
    other = carts.open_cart(shop, "web")
    carts.add_line(shop, other.token, "MUG-2", 2, "web")
    mine = carts.sign_in(shop, other.token, cy, "web")
    assert mine.token == other.token and mine.profile_id == cy
    assert carts.open_cart(shop, "app", cy).token == other.token


def test_cart_holds_expire_and_give_the_stock_back(shop: Database) -> None:
    cart = carts.open_cart(shop, "web")
    held = carts.add_line(shop, cart.token, "SHIRT-1", 4, "web")
    line = held.lines[0]
    assert line.held == 4 and line.hold_expires_at is not None
    assert line.hold_expires_at > utcnow() + timedelta(seconds=holds.HOLD_SECONDS - 60)
    assert inventory.available(shop, "web", ["SHIRT-1"]) == {"SHIRT-1": 9}

    assert holds.expire_holds(shop, utcnow()) == 0  # not yet
    assert holds.expire_holds(shop, utcnow() + timedelta(hours=1)) >= 1

    after = carts.get_cart(shop, cart.token)
    assert [(x.sku, x.quantity, x.held) for x in after.lines] == [("SHIRT-1", 4, 0)]
    assert inventory.available(shop, "web", ["SHIRT-1"]) == {"SHIRT-1": 13}
    # Touching the line holds again.
    again = carts.set_line(shop, cart.token, "SHIRT-1", 5, "web")
    assert again.lines[0].held == 5


def test_a_line_that_cannot_be_held_is_refused_and_nothing_changes(
    shop: Database, api: TestClient
) -> None:
    cart = carts.open_cart(shop, "web")
    carts.add_line(shop, cart.token, "MUG-2", 2, "web")
    with pytest.raises(Conflict, match="MUG-2"):
        carts.add_line(shop, cart.token, "MUG-2", 50, "web")
    after = carts.get_cart(shop, cart.token)
    assert [(x.sku, x.quantity, x.held) for x in after.lines] == [("MUG-2", 2, 2)]
    smaller = carts.set_line(shop, cart.token, "MUG-2", 1, "web")
    assert [(x.quantity, x.held) for x in smaller.lines] == [(1, 1)]
    assert carts.remove_line(shop, cart.token, "MUG-2", "web").lines == []
    assert inventory.available(shop, "web", ["MUG-2"]) == {"MUG-2": 13}
    # Through the API: problems with the reason.
    anonymous = api.post("/api/v1/carts", json={"channel": "web"}).json()
    lines = f"/api/v1/carts/{anonymous['token']}/lines"
    assert (
        api.post(lines, json={"sku": "MUG-1", "quantity": 0, "channel": "web"}).status_code == 422
    )
    short = api.post(lines, json={"sku": "MUG-2", "quantity": 50, "channel": "web"})
    assert short.status_code == 409 and "MUG-2" in short.json()["detail"]
    assert api.get("/api/v1/carts/" + "0" * 32).status_code == 404
    assert api.post("/api/v1/carts", json={"channel": "nope"}).status_code == 404
    empty = api.post(f"/api/v1/carts/{anonymous['token']}/checkout", json={"channel": "web"})
    assert empty.status_code == 409 and "empty" in empty.json()["detail"]
