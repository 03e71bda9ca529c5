"""The Medusa connector against a real Medusa v2 server, call by call."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from decimal import Decimal
from typing import TypeVar

import httpx
import pytest

from channelhub.connectors.base import (
    Cancellation,
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Listing,
    PermanentError,
    StockLevel,
    TransientError,
)
from channelhub.connectors.medusa import MedusaConfig, MedusaConnector

from .conftest import Medusa
from .storefront import admin_client, place_order

T = TypeVar("T")


def run(awaitable: Awaitable[T]) -> T:
    async def wrapped() -> T:
        return await awaitable

    return asyncio.run(wrapped())


def config(medusa: Medusa, **extra: object) -> MedusaConfig:
    values: dict[str, object] = {
        "url": medusa.url,
        "email": medusa.email,
        "password": medusa.password,
        "stock_location_id": medusa.store.stock_location_id,
        "sales_channel_id": medusa.store.sales_channel_id,
    }
    values.update(extra)
    return MedusaConfig.model_validate(values)


def test_products_stock_prices_orders_fulfilment_and_cancellation(medusa: Medusa) -> None:
    run(_whole_cycle(medusa))


async def _whole_cycle(medusa: Medusa) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    red, blue, green = f"TEE-{tag}-RED", f"TEE-{tag}-BLUE", f"TEE-{tag}-GREEN"
    parent = f"TEE-{tag}"
    eur = ChannelPrice(red, Decimal("19.95"), "EUR")
    async with httpx.AsyncClient(timeout=60) as http:
        medusa_connector = MedusaConnector(config(medusa), http)
        assert "stock location" in await medusa_connector.test_connection()

        # A stock level before the variant exists waits for its listing.
        with pytest.raises(TransientError, match="no Medusa variant yet"):
            await medusa_connector.push_stock([StockLevel(red, 4)])

        tees = [
            Listing(
                red, "Tee red", "Cotton", parent_sku=parent, price=eur, options={"Color": "red"}
            ),
            Listing(blue, "Tee blue", parent_sku=parent, price=eur, options={"Color": "blue"}),
        ]
        created = await medusa_connector.push_listings(tees)
        assert "created" in created.detail
        again = await medusa_connector.push_listings(tees)
        assert again.detail == ""  # nothing changed: nothing sent
        grown = await medusa_connector.push_listings(
            [*tees, Listing(green, "Tee green", parent_sku=parent, options={"Color": "green"})]
        )
        assert f"added {green}" in grown.detail

        await medusa_connector.push_prices(
            [ChannelPrice(red, Decimal("17.50"), "EUR"), ChannelPrice(green, Decimal("18"), "EUR")]
        )
        await medusa_connector.push_prices([ChannelPrice(red, Decimal("21"), "USD")])
        await medusa_connector.push_stock([StockLevel(red, 6), StockLevel(green, 2)])
        assert await medusa_connector.read_stock([red, green, blue]) == {red: 6, green: 2}

        with admin_client(medusa.url, medusa.email, medusa.password) as admin:
            found = admin.get(
                "/admin/products",
                params={
                    "handle": parent.lower(),
                    "fields": "id,status,*variants,*variants.prices,*sales_channels",
                },
            ).json()["products"][0]
        assert found["status"] == "published"
        assert [c["id"] for c in found["sales_channels"]] == [medusa.store.sales_channel_id]
        prices = {
            v["sku"]: sorted((p["currency_code"], Decimal(str(p["amount"]))) for p in v["prices"])
            for v in found["variants"]
        }
        assert prices[red] == [("eur", Decimal("17.5")), ("usd", Decimal("21"))]
        assert prices[green] == [("eur", Decimal("18"))]
        variant_ids = {v["sku"]: v["id"] for v in found["variants"]}

        # A shopper orders through the Store API; the connector polls it.
        first_page = await medusa_connector.fetch_orders(None)
        order = place_order(
            medusa.url, medusa.store, [(variant_ids[red], 2)], email="anna@example.com"
        )
        page = await medusa_connector.fetch_orders(first_page.cursor)
        [polled] = [o for o in page.orders if o.external_id == order["id"]]
        assert polled.currency == "EUR" and polled.customer_email == "anna@example.com"
        assert polled.shipping_address is not None and polled.shipping_address.country == "NL"
        [line] = polled.lines
        assert (line.sku, line.quantity, line.unit_price) == (red, 2, Decimal("17.5"))
        assert polled.is_paid and not polled.cancelled
        assert order["id"] not in {
            o.external_id for o in (await medusa_connector.fetch_orders(page.cursor)).orders
        }

        # Medusa reserved 2 for its order; the hub's "may sell 4" leaves 4 sellable.
        await medusa_connector.push_stock([StockLevel(red, 4)])
        assert await medusa_connector.read_stock([red]) == {red: 4}

        shipped = await medusa_connector.push_fulfilment(
            Fulfilment(
                order["id"],
                (FulfilmentLine(line.external_line_id, red, 2),),
                tracking_number="3STEST1",
            )
        )
        assert "shipped" in shipped.detail
        repeat = await medusa_connector.push_fulfilment(
            Fulfilment(
                order["id"],
                (FulfilmentLine(line.external_line_id, red, 2),),
                tracking_number="3STEST1",
            )
        )
        assert "already fulfilled" in repeat.detail
        assert await medusa_connector.read_stock([red]) == {red: 4}
        with admin_client(medusa.url, medusa.email, medusa.password) as admin:
            seen = admin.get(
                f"/admin/orders/{order['id']}",
                params={"fields": "id,fulfillment_status,*fulfillments,*fulfillments.labels"},
            ).json()["order"]
        assert seen["fulfillment_status"] == "shipped"
        assert seen["fulfillments"][0]["labels"][0]["tracking_number"] == "3STEST1"

        # A second order is cancelled from the hub; the cancellation shows up in the next poll.
        second = place_order(
            medusa.url, medusa.store, [(variant_ids[green], 1)], email="bo@example.com"
        )
        cancelled = await medusa_connector.push_cancellation(
            Cancellation(second["id"], (), "out of stock")
        )
        assert "canceled" in cancelled.detail
        later = await medusa_connector.fetch_orders(page.cursor)
        assert {o.external_id: o.cancelled for o in later.orders}[second["id"]] is True

        # Medusa's own errors come back as clear, permanent messages.
        with pytest.raises(PermanentError, match="not_found"):
            await medusa_connector.push_fulfilment(
                Fulfilment("order_missing", (FulfilmentLine("x", red, 1),))
            )
        wrong = MedusaConnector(config(medusa, password="wrong-password"), http)
        with pytest.raises(PermanentError, match=r"refused the sign-in.*Invalid email or password"):
            await wrong.test_connection()


def test_a_model_listed_before_its_variants_gives_way_to_them(medusa: Medusa) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    model, small, large = f"CAP-{tag}", f"CAP-{tag}-S", f"CAP-{tag}-L"

    async def push() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            connector = MedusaConnector(config(medusa), http)
            await connector.push_listings([Listing(model, "Cap", "Wool cap")])
            added = await connector.push_listings(
                [
                    Listing(small, "Cap S", parent_sku=model, options={"Size": "S"}),
                    Listing(large, "Cap L", parent_sku=model, options={"Size": "L"}),
                ]
            )
            assert f"placeholder variant {model} removed" in added.detail
            await connector.push_listings([Listing(model, "Wool cap", "Warm")])

    asyncio.run(push())
    with admin_client(medusa.url, medusa.email, medusa.password) as admin:
        [product] = admin.get(
            "/admin/products",
            params={"handle": model.lower(), "fields": "id,title,status,*variants"},
        ).json()["products"]
    assert sorted(v["sku"] for v in product["variants"]) == [large, small]
    assert (product["title"], product["status"]) == ("Wool cap", "published")


def test_secret_api_key_signs_in(medusa: Medusa) -> None:
    with admin_client(medusa.url, medusa.email, medusa.password) as admin:
        key = admin.post("/admin/api-keys", json={"title": "hub", "type": "secret"}).json()[
            "api_key"
        ]

    async def reach() -> str:
        async with httpx.AsyncClient(timeout=60) as http:
            keyed = MedusaConfig(
                url=medusa.url,
                api_key=key["token"],
                stock_location_id=medusa.store.stock_location_id,
            )
            return await MedusaConnector(keyed, http).test_connection()

    assert "Medusa reached" in asyncio.run(reach())
