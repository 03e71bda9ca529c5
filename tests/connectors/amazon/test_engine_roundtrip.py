"""Amazon end to end through the engine, over real HTTP against the sandbox, on SQLite and
PostgreSQL: listings, stock and prices reach Amazon; an order placed on Amazon arrives in the
hub exactly once; the hub's shipment reaches Amazon's shipment confirmation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from channelhub.catalog.model import ChannelKind, ChannelMode, Status
from channelhub.catalog.products import change_status
from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.inventory import service as inventory
from channelhub.inventory.service import ChannelLink, available
from channelhub.orders.fulfilment import ship
from channelhub.orders.service import get_order, list_orders
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sandbox.amazon import AmazonState, create_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.store import messages
from tests.connectors.conftest import dead_letters, fast_engine
from tests.factories import gtin, mug, save, value
from tests.inventory.factories import add_channel, make_world, stock
from tests.sync.conftest import drain

SKUS = ("MUG-1", "MUG-2", "MUG-3")


@pytest.fixture(autouse=True)
def fast_sync(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fast_engine(monkeypatch, max_attempts=4)
    yield
    get_settings.cache_clear()


def amazon_world(db: Database) -> None:
    make_world(db)
    add_channel(db, "amazon", ChannelKind.MARKETPLACE, ChannelMode.INTEGRATED)
    inventory.link_channel(db, "amazon", [ChannelLink("wh")])
    for n, sku in enumerate(SKUS, start=1):
        product = mug(sku)
        product.values = [*product.values, value("gtin", gtin(n))]
        save(db, product)
        for status in (Status.IN_REVIEW, Status.APPROVED):  # publishable: not on hold
            change_status(db, sku, status, "test")
    stock(db, "wh", MUG_1=7, MUG_2=3, MUG_3=1)
    pricing.save_price_list(db, "amazon_eur", "amazon")
    save_prices(
        db,
        [PriceInput(sku, Decimal("12.95") + i) for i, sku in enumerate(SKUS)],
        price_list="amazon_eur",
        actor="test",
    )


def quantities(state: AmazonState) -> dict[str, int]:
    return {
        sku: listing["attributes"]["fulfillment_availability"][0]["quantity"]
        for sku, listing in state.listings.items()
    }


def test_amazon_round_trip_through_the_engine(db: Database, deliveries: str) -> None:
    amazon_world(db)
    state = AmazonState(feed_delay=0.05)
    with serve_in_thread(create_app(state)) as url:
        save_connection(
            db,
            ConnectionInput(
                code="amazon",
                platform="amazon",
                channel="amazon",
                config={
                    "seller_id": state.seller.seller_id,
                    "marketplace_id": state.seller.marketplace_id,
                    "client_id": state.client_id,
                    "client_secret": state.client_secret,
                    "refresh_token": state.refresh_token,
                    "endpoint": url,
                    "token_url": f"{url}/auth/o2/token",
                    "language_tag": "nl_NL",
                },
                subscriptions=tuple(JobKind),
                poll_seconds=1,
            ),
        )
        drain(db, timeout=60)
        hub_atp = available(db, "amazon", list(SKUS))
        assert set(state.listings) == set(SKUS)
        assert quantities(state) == hub_atp == {"MUG-1": 7, "MUG-2": 3, "MUG-3": 1}
        offer = state.listings["MUG-2"]["attributes"]["purchasable_offer"][0]
        assert offer["currency"] == "EUR"
        assert offer["our_price"][0]["schedule"][0]["value_with_tax"] == pytest.approx(13.95)
        assert {sku: state.listings[sku]["requirements"] for sku in SKUS} == dict.fromkeys(
            SKUS, "LISTING"
        )
        item = state.listings["MUG-1"]["attributes"]
        assert item["brand"][0]["value"] == "Hearth"
        assert item["externally_assigned_product_identifier"][0]["value"] == gtin(1)

        order_id = state.create_order([("MUG-1", 2, 12.95)])
        deadline = time.monotonic() + 30
        while not list_orders(db, channel="amazon")[0] and time.monotonic() < deadline:
            drain(db, timeout=60)  # Amazon is polled, every second here
            time.sleep(0.2)
        time.sleep(1.1)
        drain(db, timeout=60)  # another poll: the same order is not imported again
        orders, _ = list_orders(db, channel="amazon")
        assert [o.external_id for o in orders] == [order_id]
        [line] = get_order(db, orders[0].id).lines
        assert (line.sku, line.quantity) == ("MUG-1", 2)
        assert line.external_line_id == state.order_items[order_id][0]["OrderItemId"]
        assert available(db, "amazon", ["MUG-1"])["MUG-1"] == 5
        assert quantities(state)["MUG-1"] == 5

        ship(db, orders[0].id, "test", items={1: 1}, tracking="3SAMZ1")  # 1 of 2 units
        drain(db, timeout=60)
        ship(db, orders[0].id, "test", tracking="3SAMZ2")  # the other
        drain(db, timeout=60)
        assert [c["orderId"] for c in state.confirmations] == [order_id, order_id]
        packages = [c["packageDetail"] for c in state.confirmations]
        assert [p["trackingNumber"] for p in packages] == ["3SAMZ1", "3SAMZ2"]
        assert [p["orderItems"] for p in packages] == [
            [{"orderItemId": line.external_line_id, "quantity": 1}]
        ] * 2
        assert state.orders[order_id]["OrderStatus"] == "Shipped"
        assert [i["QuantityShipped"] for i in state.order_items[order_id]] == [2]
    assert dead_letters(db) == []

    # The message log kept the calls, with the LWA secrets and access tokens redacted.
    with db.read() as conn:
        logged = conn.execute(
            select(messages.c.url, messages.c.request_body, messages.c.response_body)
        ).all()
    text = " ".join(" ".join(str(part) for part in row) for row in logged)
    assert "/auth/o2/token" in text and "shipmentConfirmation" in text
    for secret in (state.client_secret, state.refresh_token, *state.tokens):
        assert secret not in text
