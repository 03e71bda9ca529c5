"""The hub and the Medusa sandbox through the sync engine (SQLite and PostgreSQL): products,
stock and prices reach Medusa over HTTP, a Medusa order is polled into the hub once, the
hub's shipment comes back as a fulfilment, and a 429 is waited out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from channelhub.catalog.model import Status
from channelhub.catalog.products import change_status
from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.inventory.service import available
from channelhub.orders.fulfilment import ship
from channelhub.orders.service import OrderView, get_order, list_orders
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sandbox.medusa import MedusaState, create_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.worker import Worker
from tests.connectors.conftest import dead_letters, fast_engine
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock

SKUS = ("MUG-1", "MUG-2", "MUG-3")


@pytest.fixture(autouse=True)
def engine_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fast_engine(monkeypatch, max_attempts=6)
    yield
    get_settings.cache_clear()


def drain(db: Database) -> None:
    asyncio.run(Worker(db, tick=0.01).run_until_idle(60))


def hub_with_mugs(db: Database) -> None:
    make_world(db)
    save(db, *(mug(sku) for sku in SKUS))
    for sku in SKUS:  # approved and complete: published on the web channel
        change_status(db, sku, Status.IN_REVIEW, "test")
        change_status(db, sku, Status.APPROVED, "test")
    stock(db, "wh", MUG_1=7, MUG_2=3, MUG_3=1)
    pricing.save_price_list(db, "web_eur", "web")
    save_prices(
        db,
        [PriceInput(sku, Decimal("12.95") + i) for i, sku in enumerate(SKUS)],
        price_list="web_eur",
        actor="test",
    )


def connect(db: Database, state: MedusaState, url: str) -> None:
    save_connection(
        db,
        ConnectionInput(
            code="medusa",
            platform="medusa",
            channel="web",
            config={"url": url, "email": state.email, "password": state.password},
            subscriptions=tuple(JobKind),
            poll_seconds=1,
        ),
    )


def test_medusa_round_trip_through_the_engine(db: Database, deliveries: str) -> None:
    hub_with_mugs(db)
    state = MedusaState()
    with serve_in_thread(create_app(state)) as url:
        connect(db, state, url)
        drain(db)
        hub_atp = available(db, "web", list(SKUS))
        assert {sku: state.available(sku) for sku in SKUS} == hub_atp
        prices = {sku: state.variant_by_sku(sku)["prices"] for sku in SKUS}  # type: ignore[index]
        assert {
            sku: [(p["currency_code"], p["amount"]) for p in found] for sku, found in prices.items()
        } == {
            "MUG-1": [("eur", 12.95)],
            "MUG-2": [("eur", 13.95)],
            "MUG-3": [("eur", 14.95)],
        }
        assert {p["status"] for p in state.products.values()} == {"published"}

        order_id = state.place_order([("MUG-1", 2)])
        orders: list[OrderView] = []
        deadline = time.monotonic() + 30
        while not orders and time.monotonic() < deadline:  # polled every second here
            drain(db)
            orders, _ = list_orders(db, channel="web")
            time.sleep(0.1)
        assert [o.external_id for o in orders] == [order_id]
        [line] = get_order(db, orders[0].id).lines
        assert line.external_line_id == state.orders[order_id]["items"][0]["id"]
        drain(db)
        assert available(db, "web", ["MUG-1"])["MUG-1"] == hub_atp["MUG-1"] - 2
        assert state.available("MUG-1") == hub_atp["MUG-1"] - 2

        ship(db, orders[0].id, "test", tracking="3S999")
        drain(db)
        medusa_order = state.orders[order_id]
        assert medusa_order["fulfillment_status"] == "shipped"
        [fulfillment] = medusa_order["fulfillments"]  # one, however often it was sent
        assert fulfillment["labels"][0]["tracking_number"] == "3S999"
        assert state.available("MUG-1") == available(db, "web", ["MUG-1"])["MUG-1"]
        again, _ = list_orders(db, channel="web")  # polled again since: still imported once
        assert [o.external_id for o in again] == [order_id]
        assert sorted(v["sku"] for p in state.products.values() for v in p["variants"]) == list(
            SKUS
        )
    assert dead_letters(db) == []


def test_a_throttled_medusa_is_waited_out(sqlite_db: Database) -> None:
    """A proxy allowing 10 requests a second answers 429 with Retry-After; every value still
    arrives (the engine's retry path is the same on both databases)."""
    db = sqlite_db
    hub_with_mugs(db)
    state = MedusaState(rate_limit=10)
    with serve_in_thread(create_app(state)) as url:
        connect(db, state, url)
        hub_atp = available(db, "web", list(SKUS))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            drain(db)
            if {sku: state.available(sku) for sku in SKUS} == hub_atp:
                break
            time.sleep(0.2)
        assert state.throttled > 0
        assert {sku: state.available(sku) for sku in SKUS} == hub_atp
        assert len(state.products) == len(SKUS)
