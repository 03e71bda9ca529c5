"""The connector against the sandbox: products, prices, stock, orders, fulfilments, cancels."""

from __future__ import annotations

from decimal import Decimal

import pytest

from channelhub.connectors.base import (
    Cancellation,
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Listing,
    PermanentError,
    StockLevel,
)
from channelhub.sandbox.medusa import MedusaState

from .conftest import Connect, run

EUR = "EUR"


def tees(**extra: object) -> list[Listing]:
    price = ChannelPrice("TEE-R", Decimal("19.95"), EUR)
    return [
        Listing(
            "TEE-R", "Tee red", "Cotton", parent_sku="TEE", price=price, options={"Color": "red"}
        ),
        Listing("TEE-B", "Tee blue", "Cotton", parent_sku="TEE", options={"Color": "blue"}),
    ]


def test_products_variants_prices_and_stock(connect: Connect, state: MedusaState) -> None:
    async def check() -> None:
        async with connect() as medusa:
            created = await medusa.push_listings(tees())
            assert "created" in created.detail
            [product] = state.products.values()
            assert product["handle"] == "tee" and product["status"] == "published"
            assert product["sales_channels"] == state.sales_channels  # the only one
            assert product["shipping_profile_id"] == state.shipping_profiles[0]["id"]
            assert [v["sku"] for v in product["variants"]] == ["TEE-R", "TEE-B"]

            calls = len(state.requests)
            assert (await medusa.push_listings(tees())).detail == ""
            writes = [m for m, _ in state.requests[calls:] if m == "POST"]
            assert writes == []  # unchanged: only reads

            green = Listing("TEE-G", "Tee green", parent_sku="TEE", options={"Color": "green"})
            renamed = [Listing("TEE-R", "Tee rouge", parent_sku="TEE", options={"Color": "red"})]
            grown = await medusa.push_listings([*renamed, tees()[1], green])
            assert "added TEE-G" in grown.detail and "TEE-R updated" in grown.detail
            colors = [v["value"] for v in product["options"][0]["values"]]
            assert colors == ["red", "blue", "green"]

            await medusa.push_prices([ChannelPrice("TEE-R", Decimal("21"), "USD")])
            await medusa.push_prices([ChannelPrice("TEE-R", Decimal("17.5"), EUR)])
            red = state.variant_by_sku("TEE-R")
            assert red is not None
            assert sorted((p["currency_code"], p["amount"]) for p in red["prices"]) == [
                ("eur", 17.5),
                ("usd", 21.0),
            ]
            await medusa.push_stock([StockLevel("TEE-R", 5), StockLevel("TEE-G", -2)])
            assert await medusa.read_stock(["TEE-R", "TEE-G", "TEE-B"]) == {"TEE-R": 5, "TEE-G": 0}
            await medusa.push_stock([StockLevel("TEE-R", 6)])
            assert state.available("TEE-R") == 6

            await medusa.push_listings(
                [Listing("TEE-R", "Tee rouge", parent_sku="TEE", on_hold=True)]
            )

    run(check())


def test_orders_are_polled_fulfilled_and_cancelled(connect: Connect, state: MedusaState) -> None:
    async def check() -> None:
        async with connect(order_page_size=2) as medusa:
            await medusa.push_listings(tees())
            await medusa.push_stock([StockLevel("TEE-R", 5), StockLevel("TEE-B", 5)])
            first = state.place_order([("TEE-R", 2), ("TEE-B", 1)])
            second = state.place_order([("TEE-B", 1)])
            third = state.place_order([("TEE-R", 1)])

            page = await medusa.fetch_orders(None)
            assert [o.external_id for o in page.orders] == [first, second]  # a page of 2
            rest = await medusa.fetch_orders(page.cursor)
            assert [o.external_id for o in rest.orders] == [third]
            assert (await medusa.fetch_orders(rest.cursor)).orders == ()

            # Medusa reserved 3 of TEE-R: the hub's "4 may sell" keeps 4 sellable.
            await medusa.push_stock([StockLevel("TEE-R", 4)])
            assert state.available("TEE-R") == 4
            assert state.level("TEE-R")["stocked_quantity"] == 7  # type: ignore[index]

            red, blue = page.orders[0].lines
            partial = Fulfilment(first, (FulfilmentLine(red.external_line_id, "TEE-R", 1),))
            assert "shipped" in (await medusa.push_fulfilment(partial)).detail
            whole = Fulfilment(
                first,
                (
                    FulfilmentLine(red.external_line_id, "TEE-R", 2),
                    FulfilmentLine(blue.external_line_id, "TEE-B", 1),
                ),
                tracking_number="3S123",
                tracking_url="https://track.example/3S123",
            )
            await medusa.push_fulfilment(whole)
            assert "already fulfilled" in (await medusa.push_fulfilment(whole)).detail
            order = state.orders[first]
            assert order["fulfillment_status"] == "shipped"
            assert [len(f["items"]) for f in order["fulfillments"]] == [1, 2]
            assert order["fulfillments"][1]["labels"][0]["tracking_number"] == "3S123"
            assert state.available("TEE-R") == 4  # fulfilled units left stock and reservations

            assert (
                "canceled in Medusa"
                in (await medusa.push_cancellation(Cancellation(second, (), "no stock"))).detail
            )
            assert (
                "already canceled"
                in (await medusa.push_cancellation(Cancellation(second, (), "no stock"))).detail
            )
            changed, cursor = [], rest.cursor
            while True:  # pages of 2, starting with the order already read at the cursor
                more = await medusa.fetch_orders(cursor)
                if not more.orders:
                    break
                changed += more.orders
                cursor = more.cursor
            assert [(o.external_id, o.cancelled) for o in changed] == [
                (first, False),
                (second, True),
            ]
            with pytest.raises(PermanentError, match="is canceled: nothing can ship"):
                await medusa.push_fulfilment(Fulfilment(second, (FulfilmentLine("x", "TEE-B", 1),)))
            with pytest.raises(PermanentError, match="has no line ordli_nope"):
                await medusa.push_fulfilment(
                    Fulfilment(third, (FulfilmentLine("ordli_nope", "TEE-R", 1),))
                )

    run(check())


def test_a_sku_is_found_among_longer_skus_that_contain_it(
    connect: Connect, state: MedusaState
) -> None:
    async def check() -> None:
        async with connect() as medusa:
            await medusa.push_listings([Listing(f"MUG-1{n:03d}", "Mug") for n in range(101)])
            await medusa.push_listings([Listing("MUG-1", "Mug")])
            await medusa.push_prices([ChannelPrice("MUG-1", Decimal("9.99"), EUR)])
        assert state.variant_by_sku("MUG-1")["prices"][0]["amount"] == 9.99  # type: ignore[index]
        assert len(state.products) == 102

    run(check())


def test_a_model_listed_before_its_variants_gives_way_to_them(
    connect: Connect, state: MedusaState
) -> None:
    """The engine sends a model's listing (no parent) and its variants' listings as they
    change, in any order and any batch: the product ends up with the variants only, and a
    batch without the model does not rename the product after a variant."""

    async def check() -> None:
        async with connect() as medusa:
            await medusa.push_listings([Listing("TEE", "Tee", "Cotton tee")])
            red = Listing("TEE-R", "Tee red", parent_sku="TEE", options={"Color": "red"})
            blue = Listing("TEE-B", "Tee blue", parent_sku="TEE", options={"Color": "blue"})
            added = await medusa.push_listings([red])
            assert "placeholder variant TEE removed" in added.detail
            await medusa.push_listings([blue])
            await medusa.push_listings([Listing("TEE", "Tee shirt", "Cotton tee")])
            await medusa.push_listings([Listing("TEE-R", "Tee rouge", parent_sku="TEE")])

    run(check())
    [product] = state.products.values()
    assert [v["sku"] for v in product["variants"]] == ["TEE-R", "TEE-B"]
    assert product["variants"][0]["title"] == "Tee rouge"
    assert (product["title"], product["status"]) == ("Tee shirt", "published")


def test_an_unreadable_order_is_logged_and_polling_moves_on(
    connect: Connect, state: MedusaState, caplog: pytest.LogCaptureFixture
) -> None:
    async def check() -> None:
        async with connect() as medusa:
            await medusa.push_listings(tees())
            broken = state.place_order([("TEE-R", 1)])
            state.orders[broken]["items"][0]["variant_sku"] = None  # a custom line item
            fine = state.place_order([("TEE-B", 1)])
            page = await medusa.fetch_orders(None)
            assert [o.external_id for o in page.orders] == [fine]
            assert (await medusa.fetch_orders(page.cursor)).orders == ()
            assert f"Medusa order {broken} not imported" in caplog.text
            assert "has no variant SKU" in caplog.text

    run(check())
