"""Magento end to end through the engine, over real HTTP, on SQLite and PostgreSQL: the hub's
products, stock (MSI source items) and base prices reach the sandbox; orders placed there are
polled in exactly once; a hub shipment ships them there, a hub cancellation cancels them."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from channelhub.catalog.model import ProductKind
from channelhub.catalog.products import ProductInput
from channelhub.core.database import Database
from channelhub.inventory.service import available
from channelhub.orders.fulfilment import cancel, ship
from channelhub.orders.service import OrderView, get_order, list_orders
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sandbox.magento import MagentoState, create_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.operations import reconcile_now
from tests.connectors.conftest import dead_letters
from tests.factories import save, value
from tests.inventory.factories import stock
from tests.sync.conftest import drain

SKUS = ("MUG-1", "MUG-2", "MUG-3")


def orders_of(db: Database, count: int) -> list[OrderView]:
    deadline = time.monotonic() + 30
    orders: list[OrderView] = []
    while len(orders) < count and time.monotonic() < deadline:  # polled every second here
        drain(db, timeout=60)
        orders, _ = list_orders(db, channel="web")
        time.sleep(0.2)
    return orders


def test_magento_round_trip_through_the_engine(world: Database, deliveries: str) -> None:
    db = world
    save(
        db,
        ProductInput(
            "TEE", family="shirts", kind=ProductKind.MODEL, values=[value("name", "Tee", "en_US")]
        ),
        ProductInput("TEE-R", parent="TEE", values=[value("color", "red"), value("size", "s")]),
    )
    stock(db, "wh", MUG_1=7, MUG_2=3, MUG_3=1, TEE_R=4)
    pricing.save_price_list(db, "web_eur", "web")
    save_prices(
        db,
        [PriceInput(sku, Decimal("12.95") + i) for i, sku in enumerate(SKUS)],
        price_list="web_eur",
        actor="test",
    )
    state = MagentoState()
    with serve_in_thread(create_app(state)) as url:
        save_connection(
            db,
            ConnectionInput(
                code="magento",
                platform="magento",
                channel="web",
                config={"base_url": url, "access_token": state.access_token},
                subscriptions=tuple(JobKind),
                poll_seconds=1,
            ),
        )
        drain(db, timeout=60)
        hub_atp = available(db, "web", list(SKUS))
        assert {sku: state.quantity(sku) for sku in SKUS} == hub_atp
        assert {sku: state.price(sku) for sku in SKUS} == {
            "MUG-1": Decimal("12.95"),
            "MUG-2": Decimal("13.95"),
            "MUG-3": Decimal("14.95"),
        }
        assert state.products["MUG-1"]["name"] == "Mug"
        assert state.products["TEE"]["type_id"] == "configurable"
        assert (state.products["TEE-R"]["visibility"], state.quantity("TEE-R")) == (1, 4)

        first = state.create_order([("MUG-1", 2)])
        [order] = orders_of(db, 1)
        assert order.external_id == str(first["entity_id"])
        view = get_order(db, order.id)
        assert [(line.sku, line.quantity) for line in view.lines] == [("MUG-1", 2)]
        time.sleep(1.1)
        state.touch_order(first["entity_id"], status="processing")
        drain(db, timeout=60)  # polled again after its update: still one order
        assert len(list_orders(db, channel="web")[0]) == 1
        assert state.quantity("MUG-1") == available(db, "web", ["MUG-1"])["MUG-1"] == 5

        ship(db, order.id, "test", tracking="3S123")
        drain(db, timeout=60)
        [shipment] = state.shipments
        assert shipment["tracks"][0]["track_number"] == "3S123"
        assert state.orders[first["entity_id"]]["state"] == "complete"
        # Magento deducts a shipment from the source itself; if that lands after the hub's
        # stock push, the source is short by the shipped units until a reconciliation.
        asyncio.run(reconcile_now(db, "magento"))
        drain(db, timeout=60)
        assert state.quantity("MUG-1") == available(db, "web", ["MUG-1"])["MUG-1"] == 5

        second = state.create_order([("MUG-2", 1)])
        orders = orders_of(db, 2)
        [other] = [o for o in orders if o.external_id == str(second["entity_id"])]
        cancel(db, other.id, "test", "out of stock")
        drain(db, timeout=60)
        assert state.orders[second["entity_id"]]["state"] == "canceled"
        assert len(state.shipments) == 1
    assert dead_letters(db) == []
