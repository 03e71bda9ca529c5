"""The connector against the Magento sandbox: products created then saved by SKU, MSI source
items and base prices in lists under the input limit, the order search with its cursor,
shipments and cancellations, the admin token, and errors turned into messages."""

from __future__ import annotations

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
from channelhub.connectors.magento import MagentoConnector
from channelhub.sandbox.faults import Faults, TokenBucket
from channelhub.sandbox.magento import MagentoState

Magento = Callable[..., Any]
PRICE = ChannelPrice("MUG-1", Decimal("12.95"), "EUR")


def listings() -> list[Listing]:
    return [
        Listing("MUG-1", "Mug", "Stoneware", gtin="8712345678906", price=PRICE),
        Listing("MUG-2", "Mug", "Stoneware"),  # the same name: URL keys must still differ
        Listing("TEE", "Tee"),
        Listing("TEE-R", "Tee red", parent_sku="TEE", options={"color": "red"}),
    ]


def test_products_are_created_then_saved_by_sku(magento: Magento, state: MagentoState) -> None:
    magento(lambda c: c.push_listings(listings()), gtin_attribute="ean")
    mug = state.products["MUG-1"]
    assert (mug["type_id"], mug["price"], mug["status"], mug["visibility"]) == (
        "simple",
        12.95,
        1,
        4,
    )
    assert {"attribute_code": "ean", "value": "8712345678906"} in mug["custom_attributes"]
    assert state.products["TEE"]["type_id"] == "configurable"
    assert state.products["TEE-R"]["visibility"] == 1  # a variant: not visible on its own
    magento(lambda c: c.push_listings([Listing("MUG-1", "Big mug", on_hold=True)]))
    assert state.products["MUG-1"]["name"] == "Big mug" and state.products["MUG-1"]["status"] == 2
    assert state.products["MUG-1"]["price"] == 12.95  # a content push keeps the price
    calls = [(m, p.split("/V1", 1)[1]) for m, p in state.requests]
    assert calls.count(("POST", "/products")) == 4
    assert ("PUT", "/products/MUG-1") in calls


def test_variants_make_their_parent_a_configurable(magento: Magento, state: MagentoState) -> None:
    magento(lambda c: c.push_listings([Listing("TEE", "Tee")]))  # the model alone: no variants
    assert state.products["TEE"]["type_id"] == "simple"
    red = Listing("TEE-R", "Tee", parent_sku="TEE", gtin="8712345678906")
    magento(lambda c: c.push_listings([red]))  # a fresh connector: finds TEE by search
    assert state.products["TEE"]["type_id"] == "configurable"
    assert state.products["TEE"]["name"] == "Tee"  # its content is kept
    magento(lambda c: c.push_listings([Listing("SOCK-B", "Sock", parent_sku="SOCK")]))
    sock = state.products["SOCK"]  # an unknown parent is created from its first variant
    assert (sock["type_id"], sock["name"], sock["visibility"]) == ("configurable", "Sock", 4)


def test_stock_and_prices_go_in_lists_under_the_input_limit(
    magento: Magento, state: MagentoState
) -> None:
    skus = [f"SKU-{n}" for n in range(45)]

    async def use(connector: MagentoConnector) -> tuple[dict[str, int], dict[str, Decimal]]:
        await connector.push_listings([Listing(sku, f"Item {sku}") for sku in skus])
        await connector.push_stock([StockLevel(sku, n) for n, sku in enumerate(skus)])
        await connector.push_prices(
            [ChannelPrice(sku, Decimal("1.5") + n, "EUR") for n, sku in enumerate(skus)]
        )
        return await connector.read_stock(skus[:3]), await connector.read_prices(skus[-2:])

    stock, prices = magento(use)
    assert stock == {"SKU-0": 0, "SKU-1": 1, "SKU-2": 2}
    assert prices == {"SKU-43": Decimal("44.5"), "SKU-44": Decimal("45.5")}
    assert state.source_items[("SKU-44", "default")] == {
        "sku": "SKU-44",
        "source_code": "default",
        "quantity": 44,
        "status": 1,
    }
    calls = [p.split("/V1", 1)[1] for m, p in state.requests if m == "POST"]
    assert calls.count("/inventory/source-items") == 3  # 20 + 20 + 5
    assert calls.count("/products/base-prices") == 3


def test_a_list_over_the_stores_limit_gets_magentos_message(
    magento: Magento, state: MagentoState
) -> None:
    magento(lambda c: c.push_listings([Listing(f"S-{n}", "Item") for n in range(25)]))
    with pytest.raises(PermanentError) as refused:
        magento(
            lambda c: c.push_stock([StockLevel(f"S-{n}", 1) for n in range(25)]),
            input_list_limit=25,
        )
    assert (
        'Maximum items of type "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface" is 20'
        in str(refused.value)
    )


def test_unknown_skus_wait_for_their_listing_and_refused_prices_are_named(
    magento: Magento, state: MagentoState
) -> None:
    with pytest.raises(TransientError, match="push their listings first\\): NOPE"):
        magento(lambda c: c.push_stock([StockLevel("NOPE", 1)]))

    async def use(connector: MagentoConnector) -> None:
        await connector.push_listings([Listing("MUG-1", "Mug")])
        await connector.push_prices([ChannelPrice("MUG-1", Decimal("-1"), "EUR")])

    refused = re.escape("Magento refused base prices: Invalid attribute Price = -1.0.")
    with pytest.raises(PermanentError, match=refused):
        magento(use)


def test_a_refused_product_names_its_sku_and_field(magento: Magento, state: MagentoState) -> None:
    with pytest.raises(PermanentError) as refused:
        magento(lambda c: c.push_listings([Listing("X-1", "")]))
    assert "Magento refused product X-1: " in str(refused.value)
    assert 'The "name" attribute value is empty. Set the attribute and try again.' in str(
        refused.value
    )
    assert refused.value.status == 400


def test_a_bad_token_is_explained_and_the_admin_login_gets_a_fresh_one(
    magento: Magento, state: MagentoState
) -> None:
    with pytest.raises(PermanentError) as refused:
        magento(lambda c: c.test_connection(), access_token="wrong")
    assert "The consumer isn't authorized to access Magento_Backend::admin." in str(refused.value)
    assert "access token is invalid" in str(refused.value)

    async def twice(connector: MagentoConnector) -> str:
        first = await connector.test_connection()
        state.admin_tokens.clear()  # the admin token expired
        await connector.test_connection()
        return first

    text = magento(twice, access_token=None, username="admin", password=state.admin_password)
    assert "stores default (EUR)" in text and "source default (Default Source)" in text
    tokens = [p for m, p in state.requests if p.endswith("/integration/admin/token")]
    assert len(tokens) == 2


def test_backpressure_429_carries_retry_after(
    magento: Magento, state: MagentoState, faults: Faults
) -> None:
    state.limit = TokenBucket(rate=0.5, capacity=1)
    with pytest.raises(RateLimited) as throttled:
        magento(lambda c: c.test_connection())  # two calls: the second is over the budget
    assert throttled.value.status == 429 and throttled.value.retry_after == 2.0
    state.limit = None
    faults.outage(5)
    with pytest.raises(TransientError) as down:
        magento(lambda c: c.test_connection())
    assert down.value.status == 503


def test_orders_are_searched_oldest_update_first_without_gaps(
    magento: Magento, state: MagentoState
) -> None:
    magento(lambda c: c.push_listings([Listing("MUG-1", "Mug", price=PRICE)]))
    for _ in range(7):
        state.create_order([("MUG-1", 1)])  # all in the same second

    async def poll(connector: MagentoConnector) -> set[str]:
        seen: set[str] = set()
        cursor = None
        for _ in range(4):
            page = await connector.fetch_orders(cursor)
            seen |= {o.external_id for o in page.orders}
            cursor = page.cursor
        return seen

    assert magento(poll, orders_page_size=3) == {str(i) for i in state.orders}


def test_a_configurable_order_ships_its_parent_item_and_a_repeat_sends_nothing(
    magento: Magento, state: MagentoState
) -> None:
    magento(
        lambda c: c.push_listings([Listing("MUG-1", "Mug", price=PRICE), Listing("TEE-R", "Tee")])
    )
    order = state.create_order([("MUG-1", 2), ("TEE-R", 1)], configurable={"TEE-R": "TEE"})
    [polled] = magento(lambda c: c.fetch_orders(None)).orders
    lines = {line.sku: line for line in polled.lines}
    assert len(polled.lines) == 2
    partial = Fulfilment(
        polled.external_id,
        (FulfilmentLine(lines["MUG-1"].external_line_id, "MUG-1", 1),),
        "UPS",
        "1Z1",
    )
    magento(lambda c: c.push_fulfilment(partial))
    full = Fulfilment(
        polled.external_id,
        tuple(FulfilmentLine(x.external_line_id, x.sku, x.quantity) for x in polled.lines),
        "PostNL",
        "3S1",
    )
    magento(lambda c: c.push_fulfilment(full))
    assert magento(lambda c: c.push_fulfilment(full)).detail == "already shipped"
    assert [s["items"] for s in state.shipments] == [
        [{"order_item_id": int(lines["MUG-1"].external_line_id), "qty": 1.0}],
        [
            {"order_item_id": int(lines["MUG-1"].external_line_id), "qty": 1.0},
            {"order_item_id": int(lines["TEE-R"].external_line_id), "qty": 1.0},
        ],
    ]
    assert state.shipments[1]["tracks"] == [
        {"track_number": "3S1", "title": "PostNL", "carrier_code": "custom"}
    ]
    assert state.orders[order["entity_id"]]["state"] == "complete"
    with pytest.raises(PermanentError, match=r"could not cancel order .* \(state complete\)"):
        magento(lambda c: c.push_cancellation(Cancellation(polled.external_id, (), "x")))


def test_cancellation_is_repeat_safe(magento: Magento, state: MagentoState) -> None:
    magento(lambda c: c.push_listings([Listing("MUG-1", "Mug", price=PRICE)]))
    order = state.create_order([("MUG-1", 1)], paid=False)
    cancellation = Cancellation(str(order["entity_id"]), (), "customer")
    magento(lambda c: c.push_cancellation(cancellation))
    assert magento(lambda c: c.push_cancellation(cancellation)).detail == "already cancelled"
    assert state.orders[order["entity_id"]]["state"] == "canceled"
    with pytest.raises(PermanentError, match="is canceled: it cannot ship"):
        magento(lambda c: c.push_fulfilment(Fulfilment(cancellation.external_order_id, ())))
