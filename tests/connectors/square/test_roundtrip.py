"""Square end to end through the engine over real HTTP, on SQLite and PostgreSQL: the store
channel's listings, prices and stock reach the Square sandbox; a sale rung up on Square comes
back as an order of the store (announced by a signed webhook, fetched by the order poll), and
the store's stock follows on both sides."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from channelhub.api.app import create_app as hub_app
from channelhub.core.database import Database
from channelhub.inventory.service import available
from channelhub.orders.service import OrderView, get_order, list_orders
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sandbox.server import serve_in_thread
from channelhub.sandbox.square import SquareState, create_app, send_webhook
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.operations import check_connection
from tests.connectors.conftest import dead_letters
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock
from tests.sync.conftest import drain, secret_key  # noqa: F401  (autouse: sealed credentials)

SKUS = ("MUG-1", "MUG-2")


def test_square_round_trip_through_the_engine(db: Database, deliveries: str) -> None:
    make_world(db)  # channel "pos" is a store selling from the shelves "ams" and "rtm"
    save(db, mug("MUG-1"), mug("MUG-2"))
    stock(db, "ams", MUG_1=4, MUG_2=2)
    pricing.save_price_list(db, "pos_eur", "pos")
    save_prices(db, [PriceInput("MUG-1", "12.95"), PriceInput("MUG-2", "9.50")], "pos_eur")
    state = SquareState()
    [square_store] = state.locations
    with serve_in_thread(create_app(state)) as square_url, serve_in_thread(hub_app(db)) as hub:
        hook = f"{hub}/api/v1/webhooks/square"
        save_connection(
            db,
            ConnectionInput(
                code="square",
                platform="square",
                channel="pos",
                config={
                    "access_token": state.access_token,
                    "locations": {"ams": square_store},
                    "api_url": square_url,
                    "webhook_url": hook,
                    "webhook_signature_key": state.signature_key,
                },
                subscriptions=tuple(k for k in JobKind if k != JobKind.FULFILMENTS),
                poll_seconds=3600,
            ),
        )
        check = asyncio.run(check_connection(db, "square"))
        assert check.ok and "ams -> " in check.detail, check.detail
        drain(db, timeout=60)
        hub_atp = available(db, "pos", list(SKUS))
        assert hub_atp == {"MUG-1": 4, "MUG-2": 2}
        assert {sku: state.quantity(sku, square_store) for sku in SKUS} == hub_atp
        prices = {}
        for sku in SKUS:
            variation = state.variation_by_sku(sku)
            assert variation is not None
            prices[sku] = variation["item_variation_data"]["price_money"]["amount"]
        assert prices == {"MUG-1": 1295, "MUG-2": 950}

        sale = state.create_order([("MUG-1", 3)])  # rung up on Square Point of Sale
        first = send_webhook(state, hook, sale)
        forged = send_webhook(state, hook, sale, key="not-the-signature-key")
        assert (first.status_code, forged.status_code) == (202, 401)
        orders: list[OrderView] = []
        deadline = time.monotonic() + 30
        while not orders and time.monotonic() < deadline:
            drain(db, timeout=60)
            orders, _ = list_orders(db, channel="pos")
            time.sleep(0.1)
        assert [o.external_id for o in orders] == [sale["id"]]
        order = get_order(db, orders[0].id)
        assert (order.pickup_location, order.payment_status) == ("ams", "paid")
        # A till sale: collected at once, its units already off the store's shelf.
        assert (order.delivery_method.value, order.status.value) == ("in_store", "collected")
        [line] = order.lines
        assert (line.sku, line.quantity, line.unit_price) == ("MUG-1", 3, Decimal("12.95"))
        drain(db, timeout=60)
        assert available(db, "pos", ["MUG-1"]) == {"MUG-1": 1}
        assert state.quantity("MUG-1", square_store) == 1
        # The same notification again (Square retries) changes nothing.
        again = send_webhook(state, hook, sale)
        assert again.status_code == 202
        drain(db, timeout=60)
        assert len(list_orders(db, channel="pos")[0]) == 1
        variations = [o for o in state.objects.values() if o["type"] == "ITEM_VARIATION"]
        assert sorted(v["item_variation_data"]["sku"] for v in variations) == list(SKUS)
    assert dead_letters(db) == []
