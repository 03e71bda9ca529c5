"""The connector against the Shopify sandbox over real HTTP: listings, stock, prices, read
back, orders placed in the sandbox polled and webhooked, a fulfilment pushed back."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channelhub.connectors.base import (
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Listing,
    PermanentError,
    RateLimited,
    StockLevel,
)
from channelhub.sandbox.faults import TokenBucket
from channelhub.sandbox.server import serve_in_thread
from channelhub.sandbox.shopify import ShopifyState, send_webhook

from .conftest import with_connector

LISTINGS = [
    Listing(sku="TEE", title="T-shirt", description="<p>Cotton</p>", brand="Acme"),
    Listing(sku="TEE-S", title="T-shirt S", parent_sku="TEE", options={"Size": "S"}),
    Listing(sku="TEE-M", title="T-shirt M", parent_sku="TEE", options={"Size": "M"}),
    Listing(sku="MUG", title="Mug", gtin="8712345678906"),
]


def test_listings_stock_and_prices_round_trip(sandbox_url: str, state: ShopifyState) -> None:
    call = with_connector(sandbox_url, state)

    async def scenario(connector):  # type: ignore[no-untyped-def]
        await connector.push_listings(LISTINGS)
        await connector.push_listings(LISTINGS)  # a repeat updates in place
        await connector.push_stock(
            [StockLevel("TEE-S", 7), StockLevel("TEE-M", 3), StockLevel("MUG", 12)]
        )
        await connector.push_stock([StockLevel("MUG", 11)])  # compared against 12
        await connector.push_prices(
            [
                ChannelPrice("TEE-S", Decimal("19.95"), "EUR", compare_at=Decimal("24.95")),
                ChannelPrice("TEE-M", Decimal("19.95"), "EUR"),
                ChannelPrice("MUG", Decimal("8.50"), "EUR"),
            ]
        )
        return (
            await connector.read_stock(["TEE-S", "TEE-M", "MUG", "NOPE"]),
            await connector.read_prices(["TEE-S", "MUG"]),
            await connector.test_connection(),
        )

    stock, prices, description = call(scenario)
    assert stock == {"TEE-S": 7, "TEE-M": 3, "MUG": 11}
    assert prices == {"TEE-S": Decimal("19.95"), "MUG": Decimal("8.50")}
    assert "Channelhub Sandbox" in description
    assert len(state.products) == 2 and len(state.variants) == 3
    tee = next(p for p in state.products.values() if p.handle == "tee")
    assert tee.title == "T-shirt" and tee.vendor == "Acme"
    assert tee.options == [("Size", ["S", "M"])]
    variant = state.variant_by_sku("TEE-S")
    assert variant is not None and variant.compare_at_price == Decimal("24.95")
    assert state.available("MUG") == 11


def test_a_stock_change_made_in_shopify_is_not_overwritten_blindly(
    sandbox_url: str, state: ShopifyState
) -> None:
    call = with_connector(sandbox_url, state)

    async def scenario(connector):  # type: ignore[no-untyped-def]
        await connector.push_listings([LISTINGS[3]])
        await connector.push_stock([StockLevel("MUG", 10)])
        state.create_order([("MUG", 1)])  # Shopify sells one: 9 left
        with pytest.raises(Exception, match="changed in Shopify"):
            await connector.push_stock([StockLevel("MUG", 10)])
        assert state.available("MUG") == 9
        await connector.push_stock([StockLevel("MUG", 9)])  # the hub's new truth, re-read

    call(scenario)
    assert state.available("MUG") == 9


def test_orders_placed_in_the_sandbox_are_polled_once_and_fulfilled(
    sandbox_url: str, state: ShopifyState
) -> None:
    call = with_connector(sandbox_url, state)
    call(lambda c: c.push_listings(LISTINGS))
    orders = [state.create_order([("MUG", 1), ("TEE-S", 2, Decimal("19.95"))]) for _ in range(7)]

    async def poll_all(connector):  # type: ignore[no-untyped-def]
        seen, cursor = [], None
        for _ in range(4):  # 7 orders, 5 a page: two pages, then nothing new
            page = await connector.fetch_orders(cursor)
            seen.extend(page.orders)
            cursor = page.cursor
        return seen, cursor

    seen, cursor = call(poll_all)
    assert sorted(o.external_id for o in seen) == sorted(o.id for o in orders)  # each once
    first = next(o for o in seen if o.external_id == orders[0].id)
    assert [(line.sku, line.quantity) for line in first.lines] == [("MUG", 1), ("TEE-S", 2)]
    # The shop's prices include 21% VAT: the hub gets the price before tax, and the tax on top
    # adds up to what the customer paid (2 x 19.95).
    tee = first.lines[1]
    assert (tee.unit_price, tee.tax) == (Decimal("16.49"), Decimal("6.92"))
    assert tee.unit_price * tee.quantity + tee.tax == Decimal("39.90")
    assert first.customer_email == "buyer@example.com" and first.is_paid

    # an order changed later comes back on the next poll
    state.cancel_order(orders[2].id)
    state.orders[orders[2].id].updated_at = state.orders[orders[2].id].updated_at.replace(year=2099)
    again = call(lambda c: c.fetch_orders(cursor))
    assert [o.external_id for o in again.orders] == [orders[2].id]
    assert again.orders[0].cancelled

    lines = orders[0].lines
    fulfilment = Fulfilment(
        external_order_id=orders[0].id,
        lines=tuple(FulfilmentLine(line.id, line.sku or "", line.quantity) for line in lines),
        carrier="PostNL",
        tracking_number="3SABC123",
        tracking_url="https://postnl.nl/track/3SABC123",
    )
    accepted = call(lambda c: c.push_fulfilment(fulfilment))
    assert accepted.detail.startswith("created gid://shopify/Fulfillment/")
    [created] = state.fulfillments.values()
    assert created.tracking_number == "3SABC123" and created.tracking_company == "PostNL"
    assert all(
        line.remaining_quantity == 0
        for fo in state.fulfillment_orders.values()
        if fo.order_id == orders[0].id
        for line in fo.lines
    )
    # a repeat after a crash changes nothing
    assert call(lambda c: c.push_fulfilment(fulfilment)).detail == "already fulfilled in Shopify"
    assert len(state.fulfillments) == 1


def test_signed_webhooks_from_the_sandbox_verify_and_parse(
    state: ShopifyState, sandbox_url: str
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def inbox(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return Response(status_code=202)

    order = state.create_order([("MUG", 2, Decimal("8.50"))])
    with serve_in_thread(Starlette(routes=[Route("/hooks", inbox, methods=["POST"])])) as hub:
        first = send_webhook(state, f"{hub}/hooks", "orders/create", order)
        send_webhook(  # Shopify's retry: the same webhook id
            state, f"{hub}/hooks", "orders/create", order, webhook_id=first.webhook_id
        )
        forged = send_webhook(state, f"{hub}/hooks", "orders/create", order, secret="forged")
    assert first.status_code == 202
    call = with_connector(sandbox_url, state, previous_client_secret="old")

    async def check(connector):  # type: ignore[no-untyped-def]
        results = [connector.verify_webhook(h, b) for h, b in received]
        return results, [connector.parse_webhook(h, b) for h, b in received[:2]]

    verified, messages = call(check)
    assert verified == [True, True, False]
    assert messages[0].event_id == messages[1].event_id == first.webhook_id  # redelivery
    assert messages[0].order is not None and messages[0].order.external_id == order.id
    assert received[0][0]["x-shopify-shop-domain"] == "channelhub-sandbox.myshopify.com"
    assert received[0][0]["x-shopify-api-version"] == "2026-01"
    assert json.loads(received[0][1])["admin_graphql_api_id"] == order.id
    assert forged.webhook_id != first.webhook_id


def test_a_wrong_token_is_a_permanent_error(sandbox_url: str, state: ShopifyState) -> None:
    call = with_connector(sandbox_url, state.__class__(access_token="shpat_wrong"))
    with pytest.raises(PermanentError, match="401"):
        call(lambda c: c.test_connection())


def test_an_empty_cost_bucket_throttles_with_a_computed_wait(
    sandbox_url: str, state: ShopifyState
) -> None:
    state.bucket = TokenBucket(rate=10.0, capacity=30.0)
    call = with_connector(sandbox_url, state, location_id=state.primary_location_id)

    async def scenario(connector):  # type: ignore[no-untyped-def]
        with pytest.raises(RateLimited) as caught:
            for _ in range(20):
                await connector.read_stock(["MUG"])
        return caught.value, connector.throttle, connector.graphql.last_cost.requested

    error, throttle, requested = call(scenario)
    assert throttle.maximum_available == 30.0 and throttle.restore_rate == 10.0
    assert 0.1 <= (error.retry_after or 0) <= 3.0
    assert error.retry_after == pytest.approx(
        max((requested - throttle.currently_available) / 10.0, 0.1)
    )


def test_faults_become_transient_errors(sandbox_url: str, state: ShopifyState, faults) -> None:  # type: ignore[no-untyped-def]
    from channelhub.connectors.base import TransientError

    call = with_connector(sandbox_url, state)
    faults.outage(30)
    with pytest.raises(TransientError, match="503"):
        call(lambda c: c.test_connection())
    faults.clear()
    faults.timeout_rate = 1.0
    faults.timeout_seconds = 2.0

    async def slow(connector):  # type: ignore[no-untyped-def]
        connector.http.timeout = httpx.Timeout(0.3)
        return await connector.test_connection()

    with pytest.raises(TransientError, match="in time"):
        call(slow)


def test_a_shop_that_adds_tax_on_top_keeps_its_prices(
    sandbox_url: str, state: ShopifyState
) -> None:
    """A US-style shop (``taxesIncluded`` false): the tax is added to the price, and the
    order's total, as the sandbox reports it, is the hub's total too."""
    state.taxes_included, state.tax_rate = False, Decimal("0.08")
    call = with_connector(sandbox_url, state)
    call(lambda c: c.push_listings(LISTINGS))
    placed = state.create_order([("TEE-S", 2, Decimal("19.95"))])
    [order] = call(lambda c: c.fetch_orders(None)).orders
    [line] = order.lines
    assert (line.unit_price, line.tax) == (Decimal("19.95"), Decimal("3.19"))
    paid = line.unit_price * line.quantity - line.discount + line.tax
    assert paid == Decimal("43.09") == placed.lines[0].unit_price * 2 + placed.lines[0].tax
