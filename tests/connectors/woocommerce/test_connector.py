"""The connector against the WooCommerce sandbox: batches, create vs update, stock and prices,
order polling with its cursor, order status back, and every error turned into a message."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from channelhub.connectors.base import (
    Cancellation,
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Listing,
    PermanentError,
    RateLimited,
    StockLevel,
    TransientError,
)
from channelhub.connectors.woocommerce import WooCommerceConnector
from channelhub.sandbox.faults import Faults
from channelhub.sandbox.woocommerce import WooState

Woo = Callable[..., Any]
PRICE = ChannelPrice("MUG-1", Decimal("12.95"), "EUR")


def listings() -> list[Listing]:
    return [
        Listing("MUG-1", "Mug", "Stoneware", price=PRICE),
        Listing("TEE", "Tee"),
        Listing("TEE-R", "Tee red", parent_sku="TEE", options={"Color": "red"}),
        Listing("TEE-B", "Tee blue", parent_sku="TEE", options={"Color": "blue"}),
    ]


def test_listings_create_products_and_variations_then_update_them(
    woo: Woo, state: WooState
) -> None:
    async def use(connector: WooCommerceConnector) -> None:
        await connector.push_listings(listings())

    woo(use)
    mug, tee = state.by_sku("MUG-1"), state.by_sku("TEE")
    assert mug is not None and tee is not None
    assert (mug["type"], mug["regular_price"], mug["price"]) == ("simple", "12.95", "12.95")
    assert tee["type"] == "variable"
    assert tee["attributes"][0]["options"] == ["red", "blue"]
    red = state.by_sku("TEE-R")
    assert red is not None and red["parent_id"] == tee["id"]
    assert red["attributes"] == [{"name": "Color", "option": "red"}]
    count = len(state.products) + len(state.variations)

    renamed = [Listing("MUG-1", "Big mug", price=PRICE), *listings()[1:]]
    woo(lambda c: c.push_listings(renamed))  # a fresh connector: finds them by SKU
    assert len(state.products) + len(state.variations) == count
    assert state.by_sku("MUG-1")["name"] == "Big mug"  # type: ignore[index]
    batches = [path for method, path in state.requests if path.endswith("/batch")]
    assert batches.count("/products/batch") == 2
    assert batches.count(f"/products/{tee['id']}/variations/batch") == 2


def test_a_new_variant_adds_its_option_to_the_known_parent(woo: Woo, state: WooState) -> None:
    woo(lambda c: c.push_listings(listings()))
    green = Listing("TEE-G", "Tee green", parent_sku="TEE", options={"Color": "green"})
    woo(lambda c: c.push_listings([green]))
    tee = state.by_sku("TEE")
    assert tee is not None and tee["name"] == "Tee"  # the parent's content is kept
    assert tee["attributes"][0]["options"] == ["red", "blue", "green"]
    assert state.by_sku("TEE-G")["parent_id"] == tee["id"]  # type: ignore[index]


def test_stock_and_prices_go_through_the_batches_and_read_back(woo: Woo, state: WooState) -> None:
    async def use(connector: WooCommerceConnector) -> tuple[dict[str, int], dict[str, Decimal]]:
        await connector.push_listings(listings())
        await connector.push_stock([StockLevel("MUG-1", 7), StockLevel("TEE-R", 3)])
        await connector.push_prices(
            [
                ChannelPrice("MUG-1", Decimal("9.99"), "EUR", Decimal("12.95")),
                ChannelPrice("TEE-B", Decimal("20"), "EUR"),
            ]
        )
        return (
            await connector.read_stock(["MUG-1", "TEE-R"]),
            await connector.read_prices(["MUG-1", "TEE-B"]),
        )

    stock, prices = woo(use)
    assert stock == {"MUG-1": 7, "TEE-R": 3}
    assert prices == {"MUG-1": Decimal("9.99"), "TEE-B": Decimal("20.00")}
    mug = state.by_sku("MUG-1")
    assert mug is not None and mug["manage_stock"] is True
    assert (mug["regular_price"], mug["sale_price"]) == ("12.95", "9.99")


def test_more_than_100_items_are_split_into_batches_of_100(woo: Woo, state: WooState) -> None:
    items = [Listing(f"SKU-{n}", f"Item {n}") for n in range(150)]
    woo(lambda c: c.push_listings(items))
    assert len(state.products) == 150
    woo(lambda c: c.push_stock([StockLevel(f"SKU-{n}", n) for n in range(150)]))
    assert state.stock("SKU-149") == 149
    batches = [path for _, path in state.requests if path == "/products/batch"]
    assert len(batches) == 4


def test_stock_for_an_unknown_sku_waits_for_its_listing(woo: Woo) -> None:
    with pytest.raises(TransientError, match="push their listings first\\): NOPE"):
        woo(lambda c: c.push_stock([StockLevel("NOPE", 1)]))


def test_a_refused_batch_item_names_its_sku_and_the_retry_heals(woo: Woo, state: WooState) -> None:
    async def use(connector: WooCommerceConnector) -> str:
        await connector.push_listings([Listing("MUG-1", "Mug")])
        product = state.by_sku("MUG-1")
        assert product is not None
        del state.products[product["id"]]  # deleted in WooCommerce behind our back
        with pytest.raises(PermanentError) as refused:
            await connector.push_stock([StockLevel("MUG-1", 4)])
        await connector.push_listings([Listing("MUG-1", "Mug")])  # looked up again: created
        await connector.push_stock([StockLevel("MUG-1", 4)])
        return refused.value.message

    message = woo(use)
    assert "SKU MUG-1: Invalid ID. [woocommerce_rest_product_invalid_id] (HTTP 400)" in message
    assert state.stock("MUG-1") == 4


def test_a_sku_that_is_a_variation_cannot_become_a_simple_product(woo: Woo) -> None:
    woo(lambda c: c.push_listings(listings()))
    with pytest.raises(PermanentError, match="SKU TEE-R is a variation in WooCommerce"):
        woo(lambda c: c.push_listings([Listing("TEE-R", "Tee")]))


def test_wrong_credentials_give_woocommerce_s_message_and_a_hint(woo: Woo) -> None:
    with pytest.raises(PermanentError) as refused:
        woo(lambda c: c.test_connection(), consumer_secret="cs_wrong")
    assert refused.value.status == 401
    assert "Consumer key is invalid. [woocommerce_rest_authentication_error]" in str(refused.value)
    assert "consumer key or secret is wrong" in str(refused.value)


def test_the_hosts_429_and_503_carry_retry_after(woo: Woo, faults: Faults) -> None:
    faults.throttle_rate = 1.0
    with pytest.raises(RateLimited) as throttled:
        woo(lambda c: c.test_connection())
    assert throttled.value.retry_after == 1.0
    faults.clear()
    faults.outage(5)
    with pytest.raises(TransientError) as down:
        woo(lambda c: c.test_connection())
    assert (down.value.status, down.value.retry_after) == (503, 1.0)
    faults.clear()
    assert "0 products, 0 orders" in woo(lambda c: c.test_connection())


def test_orders_are_polled_oldest_change_first_without_gaps(woo: Woo, state: WooState) -> None:
    woo(lambda c: c.push_listings([Listing("MUG-1", "Mug", price=PRICE)]))
    placed = [state.create_order([("MUG-1", 1)]) for _ in range(7)]  # all in the same second
    state.create_order([("MUG-1", 1)], status="pending")

    async def poll(connector: WooCommerceConnector) -> list[tuple[list[str], str | None]]:
        pages = []
        cursor = None
        for _ in range(4):
            page = await connector.fetch_orders(cursor)
            pages.append(([o.external_id for o in page.orders], page.cursor))
            cursor = page.cursor
        return pages

    pages = woo(poll, orders_per_page=3)
    seen = {order_id for ids, _ in pages for order_id in ids}
    assert seen == {str(o["id"]) for o in state.orders.values()}
    assert json.loads(pages[-1][1] or "{}")["after"] == max(
        o["date_modified_gmt"] for o in state.orders.values()
    )
    assert len(placed) == 7
    listed = [p for m, p in state.requests if p == "/orders"]
    assert listed  # polled through GET /orders


def test_a_pending_order_is_not_paid(woo: Woo, state: WooState) -> None:
    woo(lambda c: c.push_listings([Listing("MUG-1", "Mug", price=PRICE)]))
    state.create_order([("MUG-1", 2)], status="on-hold")
    page = woo(lambda c: c.fetch_orders(None))
    [order] = page.orders
    assert not order.is_paid and order.lines[0].unit_price == Decimal("12.95")


def test_a_fulfilment_adds_one_note_and_completes_the_order(woo: Woo, state: WooState) -> None:
    woo(lambda c: c.push_listings([Listing("MUG-1", "Mug", price=PRICE)]))
    order = state.create_order([("MUG-1", 2)])
    line_id = str(order["line_items"][0]["id"])
    partial = Fulfilment(str(order["id"]), (FulfilmentLine(line_id, "MUG-1", 1),), "PostNL", "3S1")
    woo(lambda c: c.push_fulfilment(partial))
    assert state.orders[order["id"]]["status"] == "processing"  # one of two shipped
    full = Fulfilment(str(order["id"]), (FulfilmentLine(line_id, "MUG-1", 2),), "PostNL", "3S1")
    woo(lambda c: c.push_fulfilment(full))
    woo(lambda c: c.push_fulfilment(full))  # a repeat after a crash
    assert state.orders[order["id"]]["status"] == "completed"
    notes = [n["note"] for n in state.notes[order["id"]]]
    assert notes == [
        "Shipped with PostNL, tracking number 3S1: 1 x MUG-1.",
        "Shipped with PostNL, tracking number 3S1: 2 x MUG-1.",
    ]


def test_cancellation_and_shipping_a_cancelled_order(woo: Woo, state: WooState) -> None:
    woo(lambda c: c.push_listings([Listing("MUG-1", "Mug", price=PRICE)]))
    order = state.create_order([("MUG-1", 1)])
    woo(lambda c: c.push_cancellation(Cancellation(str(order["id"]), (), "customer")))
    assert state.orders[order["id"]]["status"] == "cancelled"
    shipment = Fulfilment(str(order["id"]), ())
    with pytest.raises(PermanentError, match=f"order {order['id']} is cancelled"):
        woo(lambda c: c.push_fulfilment(shipment))
    with pytest.raises(
        PermanentError, match=re.escape("Invalid ID. [woocommerce_rest_shop_order_invalid_id]")
    ):
        woo(lambda c: c.push_cancellation(Cancellation("999999", (), "x")))


def test_an_order_of_a_deleted_product_does_not_block_the_poll(woo: Woo, state: WooState) -> None:
    woo(lambda c: c.push_listings([Listing("MUG-1", "Mug", price=PRICE)]))
    broken = state.create_order([("MUG-1", 1)])
    broken["line_items"][0]["sku"] = ""  # the product was deleted since
    later = state.create_order([("MUG-1", 1)])
    page = woo(lambda c: c.fetch_orders(None))
    skus = {o.external_id: [line.sku for line in o.lines] for o in page.orders}
    assert skus == {str(broken["id"]): [""], str(later["id"]): ["MUG-1"]}  # the hub rejects one
    assert page.cursor is not None


def test_subscribing_creates_the_hooks_and_reactivates_a_disabled_one(
    woo: Woo, state: WooState
) -> None:
    url = "http://127.0.0.1:9/api/v1/webhooks/woo"  # nothing listens: the pings fail quietly
    first = woo(lambda c: c.test_connection(), webhook_url=url)
    assert first.endswith("webhooks order.created (created), order.updated (created)")
    hooks = {h["topic"]: h for h in state.webhooks.values()}
    assert {h["delivery_url"] for h in hooks.values()} == {url}
    assert {h["secret"] for h in hooks.values()} == {state.webhook_secret}
    hooks["order.updated"]["status"] = "disabled"  # after 5 failed deliveries
    again = woo(lambda c: c.subscribe_webhooks(), webhook_url=url)
    assert again == "webhooks order.created (kept), order.updated (re-activated)"
    assert hooks["order.updated"]["status"] == "active" and len(state.webhooks) == 2
    with pytest.raises(PermanentError, match="webhook_url and webhook_secret are needed"):
        woo(lambda c: c.subscribe_webhooks())
