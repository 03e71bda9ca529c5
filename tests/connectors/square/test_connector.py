"""The connector against the Square sandbox in-process: catalog, prices, counts, orders with
cursors, errors in Square's format, 429, and webhook signatures."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from channelhub.connectors.base import (
    ChannelPrice,
    Listing,
    PermanentError,
    RateLimited,
    StockLevel,
    TransientError,
)
from channelhub.connectors.square import SquareConnector
from channelhub.sandbox.square import SquareState, signature
from channelhub.sandbox.square.webhooks import order_event

from .conftest import HOOK, in_process, run


def _listing(sku: str, title: str, price: str | None = "12.95") -> Listing:
    amount = ChannelPrice(sku, Decimal(price), "EUR") if price else None
    return Listing(sku, title, f"{title}, described", gtin=None, price=amount)


def _catalog(square: SquareConnector, state: SquareState) -> None:
    run(square.push_listings([_listing("MUG-1", "Mug"), _listing("MUG-2", "Big mug", "15.00")]))


def test_listings_are_created_then_updated_in_place(
    square: SquareConnector, state: SquareState
) -> None:
    _catalog(square, state)
    variation = state.variation_by_sku("MUG-1")
    assert variation is not None
    first_ids = {o["id"] for o in state.objects.values()}
    assert len(first_ids) == 4  # two items, two variations, real ids for the #temp ones
    assert all(not i.startswith("#") for i in first_ids)
    assert state.item_of(variation)["item_data"]["name"] == "Mug"
    # A fresh connector (no memory) finds the SKU by search and updates the same objects.
    again = in_process(state)
    run(again.push_listings([_listing("MUG-1", "Stoneware mug")]))
    assert {o["id"] for o in state.objects.values()} == first_ids
    updated = state.variation_by_sku("MUG-1")
    assert updated is not None and state.item_of(updated)["item_data"]["name"] == "Stoneware mug"
    assert run(again.read_prices(["MUG-1", "MUG-2"])) == {
        "MUG-1": Decimal("12.95"),
        "MUG-2": Decimal("15.00"),
    }


def test_prices_and_stock_reach_square(square: SquareConnector, state: SquareState) -> None:
    _catalog(square, state)
    run(square.push_prices([ChannelPrice("MUG-2", Decimal("13.50"), "EUR")]))
    variation = state.variation_by_sku("MUG-2")
    assert variation is not None
    data = variation["item_variation_data"]
    assert (data["price_money"], data["sku"], data["name"]) == (
        {"amount": 1350, "currency": "EUR"},
        "MUG-2",
        "Regular",
    )
    run(square.push_stock([StockLevel("MUG-1", 7), StockLevel("MUG-2", 0)]))
    location = next(iter(state.locations))
    assert (state.quantity("MUG-1", location), state.quantity("MUG-2", location)) == (7, 0)
    run(square.push_stock([StockLevel("MUG-1", 4)]))
    assert run(square.read_stock(["MUG-1", "MUG-2"])) == {"MUG-1": 4, "MUG-2": 0}


def test_catalog_search_pages_are_followed(square: SquareConnector, state: SquareState) -> None:
    _catalog(square, state)
    state.max_search_page = 1  # Square's search limit is advisory: follow the cursor
    fresh = in_process(state)
    run(fresh.push_stock([StockLevel("MUG-1", 3), StockLevel("MUG-2", 2)]))
    location = next(iter(state.locations))
    assert (state.quantity("MUG-1", location), state.quantity("MUG-2", location)) == (3, 2)
    searches = [body for _m, path, body in state.requests if path == "/v2/catalog/search"]
    assert [b.get("cursor") for b in searches[-2:]] == [None, "1"]


def test_stock_of_a_sku_square_does_not_have_waits_for_its_listing(
    square: SquareConnector,
) -> None:
    with pytest.raises(TransientError, match=r"push their listings first\): NOPE"):
        run(square.push_stock([StockLevel("NOPE", 1)]))


def test_orders_come_page_by_page_once_each(square: SquareConnector, state: SquareState) -> None:
    _catalog(square, state)
    state.max_order_page = 2
    made = [state.create_order([("MUG-1", 1)]) for _ in range(3)]
    state.create_order([("MUG-2", 1)], state="OPEN")  # not a finished sale: not imported
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(4):
        page = run(square.fetch_orders(cursor))
        seen.extend(order.external_id for order in page.orders)
        cursor = page.cursor
    assert seen == [order["id"] for order in made]
    first = run(square.fetch_orders(None))
    assert [line.sku for line in first.orders[0].lines] == ["MUG-1"]
    assert first.orders[0].pickup_location == "ams"
    later = state.create_order([("MUG-2", 2)])
    page = run(square.fetch_orders(cursor))
    assert [o.external_id for o in page.orders] == [later["id"]]


def test_square_errors_become_clear_delivery_errors(state: SquareState) -> None:
    wrong = in_process(state, access_token="not-the-token")
    with pytest.raises(PermanentError, match=r"401: Square says UNAUTHORIZED \(AUTHENTICATION"):
        run(wrong.test_connection())
    unmapped = in_process(state, locations={"utr": "LNOWHERE"})
    with pytest.raises(PermanentError, match="LNOWHERE \\(for hub location utr\\)"):
        run(unmapped.test_connection())
    square = in_process(state)
    assert "ams -> LSTOREAMS01 (Store Amsterdam)" in run(square.test_connection())
    dollars = Listing("MUG-9", "Mug", price=ChannelPrice("MUG-9", Decimal(5), "USD"))
    with pytest.raises(PermanentError, match=r"CURRENCY_MISMATCH .* at batches\[0\]"):
        run(square.push_listings([dollars]))
    state.rate, state.burst = 0.01, 1
    state._bucket = None
    run(square.test_connection())
    with pytest.raises(RateLimited, match="RATE_LIMITED"):
        run(square.test_connection())


def test_webhooks_are_verified_by_their_signature(
    square: SquareConnector, state: SquareState
) -> None:
    event = order_event(
        state,
        {
            "id": "O1",
            "version": 1,
            "location_id": "L",
            "state": "COMPLETED",
            "created_at": "2026-11-23T00:00:00Z",
        },
        "order.created",
    )
    body = json.dumps(event).encode()
    good = {"X-Square-HmacSha256-Signature": signature(state.signature_key, HOOK, body)}
    assert square.verify_webhook(good, body)
    assert not square.verify_webhook(good, body + b" ")
    forged = {"x-square-hmacsha256-signature": signature("other-key", HOOK, body)}
    assert not square.verify_webhook(forged, body)
    elsewhere = {"x-square-hmacsha256-signature": signature(state.signature_key, "https://x", body)}
    assert not square.verify_webhook(elsewhere, body)
    assert not square.verify_webhook({}, body)
    message = square.parse_webhook(good, body)
    assert (message.topic, message.entity, message.order) == ("orders", "O1", None)
    assert message.event_id == event["event_id"]
