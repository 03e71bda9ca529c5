"""The hub and a real Medusa server through the sync engine: the hub's products, stock and
prices reach Medusa; an order placed in Medusa's storefront arrives in the hub (polled); the
hub's shipment goes back as a Medusa fulfilment with its tracking number."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from channelhub.catalog.model import Status
from channelhub.catalog.products import change_status
from channelhub.core.database import Database
from channelhub.inventory.service import available
from channelhub.orders.fulfilment import ship
from channelhub.orders.service import OrderView, get_order, list_orders
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.worker import Worker
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock

from .conftest import Medusa
from .storefront import admin_client, place_order

SKUS = ("MUG-1", "MUG-2", "MUG-3")


def drain(db: Database) -> None:
    asyncio.run(Worker(db, tick=0.01).run_until_idle(120))


def test_round_trip_through_the_engine(sqlite_db: Database, medusa: Medusa) -> None:
    db = sqlite_db
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
    save_connection(
        db,
        ConnectionInput(
            code="medusa",
            platform="medusa",
            channel="web",
            config={
                "url": medusa.url,
                "email": medusa.email,
                "password": medusa.password,
                "stock_location_id": medusa.store.stock_location_id,
                "sales_channel_id": medusa.store.sales_channel_id,
            },
            subscriptions=tuple(JobKind),
            poll_seconds=1,
        ),
    )
    drain(db)
    hub_atp = available(db, "web", list(SKUS))
    with admin_client(medusa.url, medusa.email, medusa.password) as admin:

        def medusa_stock() -> dict[str, int]:
            found: dict[str, int] = {}
            for sku in SKUS:
                [item] = admin.get(
                    "/admin/inventory-items", params={"sku": sku, "fields": "id,*location_levels"}
                ).json()["inventory_items"]
                [level] = [
                    lvl
                    for lvl in item["location_levels"]
                    if lvl["location_id"] == medusa.store.stock_location_id
                ]
                found[sku] = level["stocked_quantity"] - level["reserved_quantity"]
            return found

        assert medusa_stock() == hub_atp
        variants = {
            v["sku"]: v
            for v in admin.get(
                "/admin/product-variants", params={"q": "MUG-", "fields": "id,sku,*prices"}
            ).json()["variants"]
        }
        assert {sku: Decimal(str(variants[sku]["prices"][0]["amount"])) for sku in SKUS} == {
            "MUG-1": Decimal("12.95"),
            "MUG-2": Decimal("13.95"),
            "MUG-3": Decimal("14.95"),
        }

        order = place_order(
            medusa.url, medusa.store, [(variants["MUG-1"]["id"], 2)], email="anna@example.com"
        )
        # Medusa is polled (every second here); orders placed by other tests arrive as well.
        orders: list[OrderView] = []
        deadline = time.monotonic() + 60
        while not orders and time.monotonic() < deadline:
            drain(db)
            orders = [o for o in list_orders(db, channel="web")[0] if o.external_id == order["id"]]
            time.sleep(0.3)
        assert len(orders) == 1
        [line] = get_order(db, orders[0].id).lines
        assert (line.sku, line.quantity, line.external_line_id) == (
            "MUG-1",
            2,
            order["items"][0]["id"],
        )
        drain(db)
        assert available(db, "web", ["MUG-1"])["MUG-1"] == hub_atp["MUG-1"] - 2
        assert medusa_stock()["MUG-1"] == hub_atp["MUG-1"] - 2

        ship(db, orders[0].id, "test", tracking="3SMEDUSA1")
        drain(db)
        seen = admin.get(
            f"/admin/orders/{order['id']}",
            params={"fields": "id,fulfillment_status,*fulfillments,*fulfillments.labels"},
        ).json()["order"]
        assert seen["fulfillment_status"] == "shipped"
        assert seen["fulfillments"][0]["labels"][0]["tracking_number"] == "3SMEDUSA1"
        assert medusa_stock()["MUG-1"] == available(db, "web", ["MUG-1"])["MUG-1"]
