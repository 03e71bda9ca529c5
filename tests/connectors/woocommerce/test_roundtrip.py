"""WooCommerce end to end through the engine, over real HTTP, on SQLite and PostgreSQL: the
hub's listings, stock and prices reach the sandbox; an order placed there arrives exactly once
(by webhook or by poll); a hub shipment completes it there; a hub cancellation cancels it."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from sqlalchemy import select

from channelhub.api.app import create_app as hub_app
from channelhub.catalog.model import ProductKind
from channelhub.catalog.products import ProductInput
from channelhub.core.database import Database
from channelhub.inventory.service import available
from channelhub.orders.fulfilment import cancel, ship
from channelhub.orders.service import OrderView, get_order, list_orders
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sandbox.server import serve_in_thread
from channelhub.sandbox.woocommerce import WooState, create_app, send_webhook
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.operations import check_connection
from channelhub.sync.store import inbox
from tests.connectors.conftest import dead_letters
from tests.factories import save, value
from tests.inventory.factories import stock
from tests.sync.conftest import drain

SKUS = ("MUG-1", "MUG-2", "MUG-3")


def stock_and_prices(db: Database) -> None:
    stock(db, "wh", MUG_1=7, MUG_2=3, MUG_3=1)
    pricing.save_price_list(db, "web_eur", "web")
    save_prices(
        db,
        [PriceInput(sku, Decimal("12.95") + i) for i, sku in enumerate(SKUS)],
        price_list="web_eur",
        actor="test",
    )


def connect(
    db: Database,
    state: WooState,
    url: str,
    poll_seconds: int | None = None,
    webhook_url: str | None = None,
) -> None:
    save_connection(
        db,
        ConnectionInput(
            code="woo",
            platform="woocommerce",
            channel="web",
            config={
                "store_url": url,
                "consumer_key": state.consumer_key,
                "consumer_secret": state.consumer_secret,
                "webhook_secret": state.webhook_secret,
                "webhook_url": webhook_url,
            },
            subscriptions=tuple(JobKind),
            poll_seconds=poll_seconds,
        ),
    )


def shirt_with_variants(db: Database) -> None:
    """A product model with two variants: a variable product with two variations."""
    save(
        db,
        ProductInput(
            "TEE", family="shirts", kind=ProductKind.MODEL, values=[value("name", "Tee", "en_US")]
        ),
        ProductInput("TEE-R", parent="TEE", values=[value("color", "red"), value("size", "s")]),
        ProductInput("TEE-B", parent="TEE", values=[value("color", "black"), value("size", "s")]),
    )
    stock(db, "wh", TEE_R=4, TEE_B=2)


def test_woocommerce_round_trip_by_webhook(world: Database, deliveries: str) -> None:
    db = world
    shirt_with_variants(db)
    stock_and_prices(db)
    state = WooState()
    with serve_in_thread(create_app(state)) as woo_url, serve_in_thread(hub_app(db)) as hub:
        hook = f"{hub}/api/v1/webhooks/woo"
        connect(db, state, woo_url, webhook_url=hook)
        check = asyncio.run(check_connection(db, "woo"))
        assert check.ok and "order.created (created), order.updated (created)" in check.detail
        assert sorted(h["topic"] for h in state.webhooks.values()) == [
            "order.created",
            "order.updated",
        ]
        assert asyncio.run(check_connection(db, "woo")).detail.endswith(
            "webhooks order.created (kept), order.updated (kept)"
        )
        drain(db, timeout=60)
        hub_atp = available(db, "web", list(SKUS))
        assert {sku: state.stock(sku) for sku in SKUS} == hub_atp
        assert {sku: state.price(sku) for sku in SKUS} == {
            "MUG-1": Decimal("12.95"),
            "MUG-2": Decimal("13.95"),
            "MUG-3": Decimal("14.95"),
        }
        assert state.by_sku("MUG-1")["name"] == "Mug"  # type: ignore[index]
        tee, red = state.by_sku("TEE"), state.by_sku("TEE-R")
        assert tee is not None and red is not None and tee["type"] == "variable"
        assert red["parent_id"] == tee["id"] and red["type"] == "variation"
        assert (state.stock("TEE-R"), state.stock("TEE-B")) == (4, 2)

        order = state.create_order([("MUG-1", 2)])  # WooCommerce delivers order.created
        assert state.deliveries == [("order.created", 202)]
        again = send_webhook(state, hook, "order.created", order, delivery_id="d-1")
        twice = send_webhook(state, hook, "order.created", order, delivery_id="d-1")
        forged = send_webhook(state, hook, "order.created", order, secret="not-the-secret")
        assert (again.status_code, twice.status_code, forged.status_code) == (202, 202, 401)
        assert twice.json()["duplicate"] is True
        drain(db, timeout=60)
        # the creation pings were answered 200 (the webhooks were saved) and stored nowhere
        assert inbox_topics(db) == ["order.created", "order.created"]

        orders, _ = list_orders(db, channel="web")
        assert [o.external_id for o in orders] == [str(order["id"])]
        view = get_order(db, orders[0].id)
        assert [(line.sku, line.quantity) for line in view.lines] == [("MUG-1", 2)]
        assert view.lines[0].external_line_id == str(order["line_items"][0]["id"])
        assert available(db, "web", ["MUG-1"])["MUG-1"] == hub_atp["MUG-1"] - 2
        assert state.stock("MUG-1") == hub_atp["MUG-1"] - 2

        ship(db, orders[0].id, "test", tracking="3S123")
        drain(db, timeout=60)
        assert state.orders[order["id"]]["status"] == "completed"
        assert any("3S123" in note["note"] for note in state.notes[order["id"]])
        assert state.deliveries[-1] == ("order.updated", 202)  # the completion came back
        drain(db, timeout=60)
        assert len(list_orders(db, channel="web")[0]) == 1
        assert len([n for n in state.notes[order["id"]] if "3S123" in n["note"]]) == 1
        skus = [p["sku"] for p in (*state.products.values(), *state.variations.values())]
        assert sorted(skus) == sorted(set(skus))  # one product or variation per SKU
    assert dead_letters(db) == []


def inbox_topics(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(inbox.c.topic).order_by(inbox.c.id)).scalars())


def test_woocommerce_orders_by_poll_and_cancellation_back(world: Database, deliveries: str) -> None:
    db = world
    stock_and_prices(db)
    state = WooState()
    with serve_in_thread(create_app(state)) as woo_url:
        connect(db, state, woo_url, poll_seconds=1)
        drain(db, timeout=60)
        order = state.create_order([("MUG-2", 1)])
        deadline = time.monotonic() + 30
        orders: list[OrderView] = []
        while not orders and time.monotonic() < deadline:  # polled every second here
            drain(db, timeout=60)
            orders, _ = list_orders(db, channel="web")
            time.sleep(0.2)
        assert [o.external_id for o in orders] == [str(order["id"])]
        time.sleep(1.1)
        state.touch_order(order["id"], customer_note="leave at the door")
        drain(db, timeout=60)  # the change is polled again: still one order
        assert len(list_orders(db, channel="web")[0]) == 1

        cancel(db, orders[0].id, "test", "out of stock")
        drain(db, timeout=60)
        assert state.orders[order["id"]]["status"] == "cancelled"
        assert state.stock("MUG-2") == available(db, "web", ["MUG-2"])["MUG-2"] == 3
    assert dead_letters(db) == []
