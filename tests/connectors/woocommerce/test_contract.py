"""What the connector sends and what the sandbox answers, checked against WooCommerce's REST
API v3 reference pages (``sandbox/contracts/woocommerce``; WooCommerce publishes no OpenAPI): every
field sent is a documented, writable property of the documented type, and every order,
line item and address the sandbox answers has the documented fields and types."""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal
from typing import Any

import httpx

from channelhub.connectors.base import (
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Listing,
    StockLevel,
)
from channelhub.connectors.woocommerce import WooCommerceConnector
from channelhub.sandbox.contracts import read_contract_text
from channelhub.sandbox.woocommerce import WooState, create_app

from .conftest import config_for

ROW = re.compile(r"^\|\s*`([a-z_0-9]+)`\s*\|\s*([a-z-]+)\s*\|(.*)\|\s*$")
TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "date-time": (str,),
    "number": (int, float),
}

Table = dict[str, tuple[str, bool]]  # property -> (type, read-only)


def properties(file: str, heading: str) -> Table:
    """The property table under ``heading`` in one reference page."""
    lines = read_contract_text("woocommerce", file).splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip("# ").strip() == heading)
    table: Table = {}
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        match = ROW.match(line)
        if match:
            notes = match.group(3)  # "read-only mandatory" (delivery_url) is set on creation
            table[match.group(1)] = (
                match.group(2),
                "read-only" in notes and "mandatory" not in notes,
            )
    assert table, f"no properties under {heading!r} in {file}"
    return table


def check(value: dict[str, Any], table: Table, what: str, *, writing: bool) -> None:
    for name, field in value.items():
        assert name in table, f"{what}: {name!r} is not a documented property"
        kind, read_only = table[name]
        if writing:
            assert not read_only, f"{what}: {name!r} is read-only"
        if field is not None:
            wanted = TYPES[kind]
            ok = isinstance(field, wanted) and not (bool not in wanted and isinstance(field, bool))
            assert ok, f"{what}: {name!r} is {type(field).__name__}, documented as {kind}"


def test_what_the_connector_sends_is_documented() -> None:
    product = properties("_products.md", "Product properties")
    variation = properties("_product-variations.md", "Product variation properties")
    order = properties("_orders.md", "Order properties")
    webhook = properties("_webhooks.md", "Webhook properties")
    state = WooState()
    sent: list[httpx.Request] = []

    async def keep(request: httpx.Request) -> None:
        sent.append(request)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=create_app(state))
        hooks = {"request": [keep]}
        async with httpx.AsyncClient(transport=transport, event_hooks=hooks) as http:
            hook = "http://127.0.0.1:9/api/v1/webhooks/woo"
            woo = WooCommerceConnector(config_for(state, webhook_url=hook), http)
            await woo.subscribe_webhooks()
            await woo.subscribe_webhooks()
            price = ChannelPrice("MUG-1", Decimal("9.99"), "EUR", Decimal("12.95"))
            await woo.push_listings(
                [
                    Listing(
                        "MUG-1",
                        "Mug",
                        "x",
                        brand="Hearth",
                        gtin="8712345678906",
                        images=("https://img.test/1.jpg",),
                        price=price,
                    ),
                    Listing("TEE", "Tee"),
                    Listing(
                        "TEE-R",
                        "Tee red",
                        parent_sku="TEE",
                        options={"Color": "red"},
                        images=("https://img.test/2.jpg",),
                        price=price,
                    ),
                ]
            )
            await woo.push_listings(
                [Listing("TEE-B", "Tee blue", parent_sku="TEE", options={"Color": "blue"})]
            )
            await woo.push_stock([StockLevel("MUG-1", 3), StockLevel("TEE-R", 2)])
            await woo.push_prices([price, ChannelPrice("TEE-R", Decimal("20"), "EUR")])
            placed = state.create_order([("MUG-1", 1)])
            line = str(placed["line_items"][0]["id"])
            await woo.push_fulfilment(
                Fulfilment(str(placed["id"]), (FulfilmentLine(line, "MUG-1", 1),), "UPS", "1Z")
            )

    asyncio.run(scenario())
    checked = 0
    for request in sent:
        path = request.url.path.removeprefix("/wp-json/wc/v3")
        if request.method == "GET" or not request.content:
            continue
        body = json.loads(request.content)
        if path == "/products/batch" or re.fullmatch(r"/products/\d+/variations/batch", path):
            table = product if path == "/products/batch" else variation
            for action in ("create", "update"):
                for item in body.get(action, []):
                    check({k: v for k, v in item.items() if k != "id"}, table, path, writing=True)
                    checked += 1
        elif re.fullmatch(r"/orders/\d+", path):
            check(body, order, path, writing=True)
            checked += 1
        elif re.fullmatch(r"/webhooks(/\d+)?", path):
            check(body, webhook, path, writing=True)
            checked += 1
        elif re.fullmatch(r"/orders/\d+/notes", path):
            assert set(body) <= {"note", "customer_note"}  # the order notes reference
            checked += 1
        else:
            raise AssertionError(f"{request.method} {path} is not a documented endpoint here")
    assert checked >= 10


def test_what_the_sandbox_answers_is_documented() -> None:
    order_table = properties("_orders.md", "Order properties")
    lines = properties("_orders.md", "Order - Line items properties")
    billing = properties("_orders.md", "Order - Billing properties")
    shipping = properties("_orders.md", "Order - Shipping properties")
    product_table = properties("_products.md", "Product properties")
    state = WooState()
    app = create_app(state)

    async def calls() -> tuple[list[Any], list[Any]]:
        transport = httpx.ASGITransport(app=app)
        auth = (state.consumer_key, state.consumer_secret)
        async with httpx.AsyncClient(transport=transport, base_url="http://w", auth=auth) as http:
            await http.post(
                "/wp-json/wc/v3/products",
                json={"name": "Mug", "sku": "MUG-1", "regular_price": "5.00"},
            )
            state.create_order([("MUG-1", 2)])
            orders = (await http.get("/wp-json/wc/v3/orders")).json()
            products = (await http.get("/wp-json/wc/v3/products")).json()
            return orders, products

    orders, products = asyncio.run(calls())
    [order] = orders
    check(order, order_table, "order", writing=False)
    check(order["billing"], billing, "billing", writing=False)
    check(order["shipping"], shipping, "shipping", writing=False)
    for line in order["line_items"]:
        # The table says string; the reference's examples (and WooCommerce) answer a number.
        check(line, {**lines, "price": ("number", True)}, "line item", writing=False)
    [product] = products
    check(product, product_table, "product", writing=False)
