"""bol.com end to end through the engine, over real HTTP against the sandbox, on SQLite and
PostgreSQL, delivering each job once and twice: offers with stock and prices reach bol.com,
an order placed there arrives once, a partial shipment, the rest of it, and a cancellation
go back, each as one effect at bol.com, and nothing is dead-lettered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from channelhub.catalog.model import Status
from channelhub.catalog.products import change_status
from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.inventory.service import available
from channelhub.orders.fulfilment import cancel, ship
from channelhub.orders.service import OrderView, get_order, list_orders
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sandbox.bol import BolState, create_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from tests.connectors.conftest import dead_letters, fast_engine
from tests.factories import gtin, mug, save, value
from tests.inventory.factories import make_world, stock
from tests.sync.conftest import drain

SKUS = ("MUG-1", "MUG-2", "MUG-3")


@pytest.fixture(autouse=True)
def fast_sync(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fast_engine(monkeypatch, max_attempts=6)
    yield
    get_settings.cache_clear()


def bol_world(db: Database) -> None:
    make_world(db)
    for n, sku in enumerate(SKUS, start=1):
        product = mug(sku)
        product.values = [*product.values, value("gtin", gtin(n))]
        save(db, product)
        for status in (Status.IN_REVIEW, Status.APPROVED):
            change_status(db, sku, status, "test")
    stock(db, "wh", MUG_1=7, MUG_2=3, MUG_3=1)
    pricing.save_price_list(db, "bol_eur", "bol")
    save_prices(
        db,
        [PriceInput(sku, Decimal("12.95") + i) for i, sku in enumerate(SKUS)],
        price_list="bol_eur",
        actor="test",
    )


def connect(db: Database, state: BolState, url: str) -> None:
    client_id, secret = next(iter(state.clients.items()))
    save_connection(
        db,
        ConnectionInput(
            code="bol",
            platform="bol",
            channel="bol",
            config={
                "client_id": client_id,
                "client_secret": secret,
                "api_url": url,
                "login_url": url,
            },
            subscriptions=tuple(JobKind),
            poll_seconds=1,
        ),
    )


def imported(db: Database, count: int) -> list[OrderView]:
    """Poll (through the worker) until ``count`` bol.com orders are in the hub."""
    deadline = time.monotonic() + 30
    orders: list[OrderView] = []
    while time.monotonic() < deadline:
        drain(db, timeout=60)
        orders, _ = list_orders(db, channel="bol")
        if len(orders) >= count:
            break
        time.sleep(0.2)
    return sorted(orders, key=lambda o: o.external_id)


def test_bol_round_trip_through_the_engine(db: Database, deliveries: str) -> None:
    bol_world(db)
    state = BolState(process_delay=0.05)
    with serve_in_thread(create_app(state)) as url:
        connect(db, state, url)
        drain(db, timeout=60)
        by_reference = {offer["reference"]: offer for offer in state.offers.values()}
        assert len(state.offers) == len(SKUS) and set(by_reference) == set(SKUS)
        hub_atp = available(db, "bol", list(SKUS))
        assert {sku: by_reference[sku]["stock"]["amount"] for sku in SKUS} == hub_atp
        assert by_reference["MUG-2"]["pricing"]["bundlePrices"][0]["unitPrice"] == 13.95

        shipped_id = state.add_order([(gtin(1), 3, 12.95)])
        cancelled_id = state.add_order([(gtin(2), 1, 13.95)])
        orders = imported(db, 2)
        assert [o.external_id for o in orders] == sorted([shipped_id, cancelled_id])
        to_ship = next(o for o in orders if o.external_id == shipped_id)
        to_cancel = next(o for o in orders if o.external_id == cancelled_id)

        ship(db, to_ship.id, "test", items={1: 1}, tracking="3SBOL1")  # 1 of 3 units
        drain(db, timeout=60)
        item = state.orders[shipped_id]["orderItems"][0]
        assert (item["quantityShipped"], len(state.shipments)) == (1, 1)

        ship(db, to_ship.id, "test", tracking="3SBOL2")  # the other 2
        cancel(db, to_cancel.id, "test", "out of stock")
        drain(db, timeout=60)
        time.sleep(0.1)  # bol.com's processes take their time
        drain(db, timeout=60)

        assert [s["orderItems"] for s in state.shipments] == [
            [{"orderItemId": item["orderItemId"], "quantity": 1}],
            [{"orderItemId": item["orderItemId"], "quantity": 2}],
        ]
        assert (item["quantityShipped"], item["quantityCancelled"]) == (3, 0)
        cancelled_item = state.orders[cancelled_id]["orderItems"][0]
        assert (cancelled_item["quantityShipped"], cancelled_item["quantityCancelled"]) == (0, 1)
        cancellations = [p for p in state.processes.values() if p.event_type == "CANCEL_ORDER"]
        assert len([p for p in cancellations if p.status == "SUCCESS"]) == 1
        assert get_order(db, to_ship.id).status.value == "shipped"
        assert [o.external_id for o in imported(db, 2)] == sorted([shipped_id, cancelled_id])
        assert len(state.offers) == len(SKUS)
    assert dead_letters(db) == []
