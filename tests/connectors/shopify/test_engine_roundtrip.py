"""Shopify end to end through the engine, over real HTTP against the sandbox, on SQLite and
PostgreSQL, delivering each job once and twice: products with stock and prices reach the
shop (one product per SKU), an order placed there is polled in once, and two partial
shipments become two fulfilments that leave nothing open, with nothing dead-lettered."""

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
from channelhub.orders.fulfilment import ship
from channelhub.orders.service import OrderView, list_orders
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sandbox.server import serve_in_thread
from channelhub.sandbox.shopify import ShopifyState, create_app
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from tests.connectors.conftest import dead_letters, fast_engine
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock
from tests.sync.conftest import drain

SKUS = ("MUG-1", "MUG-2", "MUG-3")


@pytest.fixture(autouse=True)
def fast_sync(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fast_engine(monkeypatch, max_attempts=6)
    yield
    get_settings.cache_clear()


def shop_world(db: Database) -> None:
    make_world(db)
    save(db, *(mug(sku) for sku in SKUS))
    for sku in SKUS:
        for status in (Status.IN_REVIEW, Status.APPROVED):
            change_status(db, sku, status, "test")
    stock(db, "wh", MUG_1=7, MUG_2=3, MUG_3=1)
    pricing.save_price_list(db, "web_eur", "web")
    save_prices(
        db,
        [PriceInput(sku, Decimal("12.95") + i) for i, sku in enumerate(SKUS)],
        price_list="web_eur",
        actor="test",
    )


def polled(db: Database) -> list[OrderView]:
    deadline = time.monotonic() + 30
    orders: list[OrderView] = []
    while not orders and time.monotonic() < deadline:
        drain(db, timeout=60)
        orders, _ = list_orders(db, channel="web")
        time.sleep(0.2)
    return orders


def test_shopify_round_trip_through_the_engine(db: Database, deliveries: str) -> None:
    shop_world(db)
    state = ShopifyState()
    with serve_in_thread(create_app(state)) as url:
        save_connection(
            db,
            ConnectionInput(
                code="webshop",
                platform="shopify",
                channel="web",
                config={
                    "shop": state.shop,
                    "access_token": state.access_token,
                    "client_secret": state.client_secret,
                    "endpoint": url,
                },
                subscriptions=tuple(JobKind),
                poll_seconds=1,
            ),
        )
        drain(db, timeout=60)
        assert len(state.products) == len(SKUS)
        assert sorted(v.sku or "" for v in state.variants.values()) == list(SKUS)
        hub_atp = available(db, "web", list(SKUS))
        assert {sku: state.available(sku) for sku in SKUS} == hub_atp
        assert state.variant_by_sku("MUG-2").price == Decimal("13.95")  # type: ignore[union-attr]

        placed = state.create_order([("MUG-1", 3)])
        [order] = polled(db)
        assert order.external_id == placed.id
        ship(db, order.id, "test", items={1: 1}, tracking="3SWEB1")
        drain(db, timeout=60)
        ship(db, order.id, "test", tracking="3SWEB2")
        drain(db, timeout=60)

        made = sorted(state.fulfillments.values(), key=lambda f: f.tracking_number or "")
        assert [f.tracking_number for f in made] == ["3SWEB1", "3SWEB2"]
        assert all(
            line.remaining_quantity == 0
            for fo in state.fulfillment_orders.values()
            if fo.order_id == placed.id
            for line in fo.lines
        )
        assert [o.external_id for o in polled(db)] == [placed.id]
        assert len(state.products) == len(SKUS)
    assert dead_letters(db) == []
