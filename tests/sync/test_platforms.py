"""Shopify and bol.com end to end through the engine: the hub's stock, prices and listings
reach each platform's sandbox over HTTP, and orders come back into the hub exactly once."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from channelhub.api.app import create_app as hub_app
from channelhub.catalog.products import ProductInput, ValueInput
from channelhub.connectors.bol import push
from channelhub.core.database import Database
from channelhub.inventory.service import available
from channelhub.orders.fulfilment import ship
from channelhub.orders.service import OrderView, get_order, list_orders
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sandbox.bol import BolState, notify
from channelhub.sandbox.bol import create_app as bol_app
from channelhub.sandbox.bol.subscriptions import signed
from channelhub.sandbox.server import serve_in_thread
from channelhub.sandbox.shopify import ShopifyState
from channelhub.sandbox.shopify import create_app as shopify_app
from channelhub.sandbox.shopify.webhooks import send_webhook
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.operations import check_connection
from channelhub.sync.store import inbox
from tests.factories import gtin, save
from tests.inventory.factories import stock
from tests.sync.conftest import drain

SKUS = ("MUG-1", "MUG-2", "MUG-3")


def stock_and_prices(db: Database, channel: str) -> None:
    stock(db, "wh", MUG_1=7, MUG_2=3, MUG_3=1)
    pricing.save_price_list(db, f"{channel}_eur", channel)
    save_prices(
        db,
        [PriceInput(sku, Decimal("12.95") + i) for i, sku in enumerate(SKUS)],
        price_list=f"{channel}_eur",
        actor="test",
    )


def atp(db: Database, channel: str) -> dict[str, int]:
    return available(db, channel, list(SKUS))


def test_shopify_round_trip_through_the_engine(world: Database) -> None:
    db = world
    stock_and_prices(db, "web")
    state = ShopifyState()
    with serve_in_thread(shopify_app(state)) as shop_url, serve_in_thread(hub_app(db)) as hub:
        save_connection(
            db,
            ConnectionInput(
                code="shop",
                platform="shopify",
                channel="web",
                config={
                    "shop": state.shop,
                    "access_token": state.access_token,
                    "client_secret": state.client_secret,
                    "endpoint": shop_url,
                },
                subscriptions=tuple(JobKind),
            ),
        )
        drain(db, timeout=60)
        hub_atp = atp(db, "web")
        assert {sku: state.available(sku) for sku in SKUS} == hub_atp
        assert {sku: state.variant_by_sku(sku).price for sku in SKUS} == {  # type: ignore[union-attr]
            "MUG-1": Decimal("12.95"),
            "MUG-2": Decimal("13.95"),
            "MUG-3": Decimal("14.95"),
        }

        order = state.create_order([("MUG-1", 2)])
        first = send_webhook(state, f"{hub}/api/v1/webhooks/shop", "orders/create", order)
        again = send_webhook(
            state,
            f"{hub}/api/v1/webhooks/shop",
            "orders/create",
            order,
            webhook_id=first.webhook_id,
        )
        forged = send_webhook(
            state, f"{hub}/api/v1/webhooks/shop", "orders/create", order, secret="not-the-secret"
        )
        assert (first.status_code, again.status_code, forged.status_code) == (202, 202, 401)
        drain(db, timeout=60)

        orders, _ = list_orders(db, channel="web")
        assert len(orders) == 1
        assert atp(db, "web")["MUG-1"] == hub_atp["MUG-1"] - 2
        assert state.available("MUG-1") == atp(db, "web")["MUG-1"]

        ship(db, orders[0].id, "test", tracking="3S123")
        drain(db, timeout=60)
        [fulfillment] = [f for f in state.fulfillments.values() if f.order_id == order.id]
        assert fulfillment.tracking_number == "3S123"
        assert sum(quantity for _line, quantity in fulfillment.lines) == 2


def test_bol_round_trip_through_the_engine(world: Database) -> None:
    db = world
    for n, sku in enumerate(SKUS, start=1):
        save(db, ProductInput(sku, values=[ValueInput("gtin", gtin(n))]))
    stock_and_prices(db, "bol")
    state = BolState(process_delay=0.05)
    with serve_in_thread(bol_app(state)) as bol_url:
        save_connection(
            db,
            ConnectionInput(
                code="bol",
                platform="bol",
                channel="bol",
                config={
                    "client_id": "sandbox-client",
                    "client_secret": "sandbox-secret",
                    "api_url": bol_url,
                    "login_url": bol_url,
                },
                subscriptions=tuple(JobKind),
                poll_seconds=1,
            ),
        )
        drain(db, timeout=60)
        offers = {offer["reference"]: offer for offer in state.offers.values()}
        hub_atp = atp(db, "bol")
        assert {sku: offers[sku]["stock"]["amount"] for sku in SKUS} == hub_atp
        assert Decimal(str(offers["MUG-2"]["pricing"]["bundlePrices"][0]["unitPrice"])) == Decimal(
            "13.95"
        )

        state.add_order([(gtin(1), 1, 12.95)])
        deadline = time.monotonic() + 30
        orders: list[OrderView] = []
        while not orders and time.monotonic() < deadline:  # bol.com is polled, every second here
            drain(db, timeout=60)
            orders, _ = list_orders(db, channel="bol")
            time.sleep(0.2)
        assert len(orders) == 1
        [line] = get_order(db, orders[0].id).lines
        assert line.sku == "MUG-1" and line.external_line_id  # bol.com's order item id
        drain(db, timeout=60)
        assert offers["MUG-1"]["stock"]["amount"] == atp(db, "bol")["MUG-1"] == hub_atp["MUG-1"] - 1

        ship(db, orders[0].id, "test", tracking="3S999")
        drain(db, timeout=60)
        [shipment] = state.shipments
        assert line.external_line_id in str(shipment)


def inbox_topics(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(inbox.c.topic).order_by(inbox.c.id)).scalars())


def test_bol_push_notification_brings_the_order_at_once(world: Database) -> None:
    """A bol.com connection polled hourly: the ORDER notification (a reference only) makes the
    order poll run at once; a forged notification is refused and stores nothing."""
    db = world
    for n, sku in enumerate(SKUS, start=1):
        save(db, ProductInput(sku, values=[ValueInput("gtin", gtin(n))]))
    stock_and_prices(db, "bol")
    state = BolState(process_delay=0.05)
    push.forget_keys()
    with serve_in_thread(bol_app(state)) as bol_url, serve_in_thread(hub_app(db)) as hub:
        hook = f"{hub}/api/v1/webhooks/bol"
        save_connection(
            db,
            ConnectionInput(
                code="bol",
                platform="bol",
                channel="bol",
                config={
                    "client_id": "sandbox-client",
                    "client_secret": "sandbox-secret",
                    "api_url": bol_url,
                    "login_url": bol_url,
                    "push_url": hook,
                },
                subscriptions=tuple(JobKind),
                poll_seconds=3600,
            ),
        )
        check = asyncio.run(check_connection(db, "bol"))
        assert check.ok and "subscription" in check.detail, check.detail
        [subscription] = state.subscriptions.values()
        assert (subscription["url"], subscription["resources"]) == (hook, ["ORDER"])
        drain(db, timeout=60)  # offers made, the first poll done: the next one is an hour away
        assert list_orders(db, channel="bol")[0] == []

        # bol.com's test notification reaches the hub and verifies.
        token = httpx.post(
            f"{bol_url}/token?grant_type=client_credentials",
            auth=("sandbox-client", "sandbox-secret"),
        ).json()["access_token"]
        tested = httpx.post(
            f"{bol_url}/retailer/subscriptions/test/{subscription['id']}",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.retailer.v10+json",
            },
        )
        assert tested.status_code == 202 and inbox_topics(db) == ["test"]

        order_id = state.add_order([(gtin(1), 2, 12.95)])
        push.forget_keys()  # as in an API process that never polled: verify fetches the keys
        body, headers = signed(state, "ORDER", {"type": "NEW", "resourceId": order_id})
        first = httpx.post(hook, content=body, headers=headers)
        again = httpx.post(hook, content=body, headers=headers)  # bol.com redelivers
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = notify(state, hook, "ORDER", {"type": "NEW", "resourceId": "A1"}, key=other)
        unsigned = httpx.post(hook, content=body, headers={"Content-Type": "application/json"})
        assert (first.status_code, again.status_code) == (202, 202)
        assert again.json()["duplicate"] is True
        assert (forged.status_code, unsigned.status_code) == (401, 401)
        assert inbox_topics(db) == ["test", "orders"]

        drain(db, timeout=60)
        orders, _ = list_orders(db, channel="bol")
        assert [o.external_id for o in orders] == [order_id]
        with db.read() as conn:
            stored = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
            states = set(conn.execute(select(inbox.c.state)).scalars())
        assert stored == 2 and states == {"done"}
    push.forget_keys()
