"""The connector against the sandbox over real HTTP: offers, orders, shipments, cancellations."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from channelhub.connectors.base import (
    Accepted,
    Cancellation,
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Listing,
    PermanentError,
    StockLevel,
    TransientError,
)
from channelhub.connectors.bol import BolConnector
from channelhub.connectors.bol.mapping import shipment_body
from channelhub.sandbox.bol import BolState
from channelhub.sandbox.server import serve_in_thread

from .conftest import config_for, in_process, run

EAN_MUG = "8712345678906"
EAN_CUP = "8712345678913"


async def settle(bol: BolConnector, accepted: Accepted) -> Accepted:
    """Follow a pending process status until bol.com reports an outcome."""
    while accepted.pending:
        await asyncio.sleep(0.03)
        accepted = await bol.check_pending(accepted.pending)
    return accepted


def listing(sku: str, ean: str, **values: Any) -> Listing:
    return Listing(sku=sku, title=f"Title of {sku}", gtin=ean, **values)


def test_round_trip_over_http(app: Any, state: BolState) -> None:
    with serve_in_thread(app) as base_url:
        run(_round_trip(base_url, state))


async def _round_trip(base_url: str, state: BolState) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        bol = BolConnector(config_for(base_url), http)
        assert "0 offers" in await bol.test_connection()

        # A price and stock that arrive before the listing wait for it, then go with it.
        with pytest.raises(TransientError):
            await bol.push_prices([ChannelPrice("MUG", Decimal("12.95"), "EUR")])
        with pytest.raises(TransientError):
            await bol.push_stock([StockLevel("MUG", 7)])
        created = await bol.push_listings([listing("MUG", EAN_MUG)])
        assert "created" in created.detail
        await bol.push_listings([listing("CUP", EAN_CUP, attributes={"price": "4.50"})])
        assert await bol.read_stock(["MUG", "CUP"]) == {"MUG": 7, "CUP": 0}
        assert await bol.read_prices(["MUG", "CUP"]) == {
            "MUG": Decimal("12.95"),
            "CUP": Decimal("4.50"),
        }

        # Patches: stock (clamped), price, on hold; read back from bol.com.
        accepted = await bol.push_stock([StockLevel("MUG", 1200), StockLevel("CUP", 3)])
        assert "999" in accepted.detail
        await bol.push_prices([ChannelPrice("MUG", Decimal("11.00"), "EUR")])
        await bol.push_listings([listing("CUP", EAN_CUP, on_hold=True)])
        assert await bol.read_stock(["MUG", "CUP"]) == {"MUG": 999, "CUP": 3}
        assert (await bol.read_prices(["MUG"]))["MUG"] == Decimal("11.00")
        cup = next(o for o in state.offers.values() if o["reference"] == "CUP")
        assert cup["onHoldByRetailer"] is True
        patches = [path for method, path in state.requests if method == "PATCH"]
        await bol.push_stock([StockLevel("MUG", 999)])  # unchanged: nothing sent
        assert [path for method, path in state.requests if method == "PATCH"] == patches

        # Orders placed in the sandbox are polled, then shipped and cancelled.
        first = state.add_order([(EAN_MUG, 2, 11.0), (EAN_CUP, 1, 4.5)])
        page = await bol.fetch_orders(None)
        assert [order.external_id for order in page.orders] == [first]
        order = page.orders[0]
        assert {line.sku for line in order.lines} == {"MUG", "CUP"}
        again = await bol.fetch_orders(page.cursor)
        assert again.orders == ()  # nothing changed since the watermark

        mug_line, cup_line = order.lines
        shipped = await bol.push_fulfilment(
            Fulfilment(
                first,
                (FulfilmentLine(mug_line.external_line_id, "MUG", 2),),
                carrier="PostNL",
                tracking_number="3SBOL0987654321",
            )
        )
        assert shipped.pending and shipped.pending.startswith("process-status:")
        assert "CREATE_SHIPMENT" in (await settle(bol, shipped)).detail
        cancelled = await bol.push_cancellation(
            Cancellation(first, (cup_line.external_line_id,), "out of stock")
        )
        done = await settle(bol, cancelled)
        assert "CANCEL_ORDER" in done.detail
        items = state.orders[first]["orderItems"]
        assert [(i["quantityShipped"], i["quantityCancelled"]) for i in items] == [(2, 0), (0, 1)]
        assert state.shipments[0]["transport"] == {
            "transporterCode": "TNT",
            "trackAndTrace": "3SBOL0987654321",
        }

        # Shipping it again changes nothing: bol.com's order item says it is shipped.
        posts = len(state.shipments)
        again_shipped = await bol.push_fulfilment(
            Fulfilment(first, (FulfilmentLine(mug_line.external_line_id, "MUG", 2),))
        )
        assert again_shipped.pending is None and "already shipped" in again_shipped.detail
        assert len(state.shipments) == posts
        cancelled_again = await bol.push_cancellation(
            Cancellation(first, (cup_line.external_line_id,), "out of stock")
        )
        assert cancelled_again.pending is None and "nothing open" in cancelled_again.detail


def test_a_shipment_sent_twice_before_bol_com_processed_the_first_is_one_shipment(
    app: Any, state: BolState
) -> None:
    """Two requests racing (the second read the order before the first landed, from another
    worker, say) are both accepted (202); bol.com's second process fails with "no 1 open to
    ship", and the order shows the shipment done: that is success, not a dead letter. A third,
    sent while they are processed, waits for their outcome."""

    async def scenario() -> None:
        bol, http = in_process(app)
        async with http:
            order_id = state.add_order([(EAN_MUG, 1, 10.0)])
            [line] = (await bol.fetch_orders(None)).orders[0].lines
            fulfilment = Fulfilment(order_id, (FulfilmentLine(line.external_line_id, "MUG", 1),))
            first = await bol.push_fulfilment(fulfilment)
            assert first.pending
            twin = await http.post(  # the racing twin: the same shipment, sent as it was
                "http://bol.sandbox/retailer/shipments",
                json=shipment_body(fulfilment),
                headers={
                    "Accept": "application/vnd.retailer.v10+json",
                    "Content-Type": "application/vnd.retailer.v10+json",
                    "Authorization": f"Bearer {next(iter(state.tokens))}",
                },
            )
            assert twin.status_code == 202, twin.text
            first_id = first.pending.split(":")[1].split("|")[0]
            twin_id = twin.json()["processStatusId"]
            with pytest.raises(TransientError, match="still processing CREATE_SHIPMENT"):
                await bol.push_fulfilment(fulfilment)
            done = await settle(bol, Accepted(pending=first.pending.replace(first_id, twin_id)))
            assert "already done" in done.detail
            await settle(bol, first)
        failures = [p for p in state.processes.values() if p.status == "FAILURE"]
        assert [p.error_message for p in failures] == [
            f"Order item {line.external_line_id} has no 1 open to ship."
        ]
        assert len(state.shipments) == 1
        assert state.orders[order_id]["orderItems"][0]["quantityShipped"] == 1

    run(scenario())


def test_a_failure_that_left_the_item_open_is_still_an_error(app: Any, state: BolState) -> None:
    async def scenario() -> None:
        bol, http = in_process(app)
        async with http:
            order_id = state.add_order([(EAN_MUG, 2, 10.0)])
            [line] = (await bol.fetch_orders(None)).orders[0].lines
            shipped = await bol.push_fulfilment(
                Fulfilment(order_id, (FulfilmentLine(line.external_line_id, "MUG", 2),))
            )
            item = state.orders[order_id]["orderItems"][0]
            item["quantityCancelled"] = 1  # cancelled at bol.com meanwhile: 1 left open
            with pytest.raises(PermanentError, match="has no 2 open to ship"):
                await settle(bol, shipped)

    run(scenario())


def test_new_orders_after_the_watermark_are_picked_up(app: Any, state: BolState) -> None:
    async def scenario() -> None:
        bol, http = in_process(app)
        async with http:
            state.add_order([(EAN_MUG, 1, 10.0)])
            page = await bol.fetch_orders(None)
            assert len(page.orders) == 1
            await asyncio.sleep(1.1)  # bol.com's timestamps have whole seconds
            second = state.add_order([(EAN_CUP, 1, 5.0)])
            page = await bol.fetch_orders(page.cursor)
            assert [order.external_id for order in page.orders] == [second]

    run(scenario())


def test_an_expired_token_is_replaced(app: Any, state: BolState) -> None:
    async def scenario() -> None:
        bol, http = in_process(app)
        async with http:
            await bol.test_connection()
            state.expire_tokens()
            await bol.test_connection()
        assert len(state.tokens) == 2

    run(scenario())


def test_a_listing_without_ean_or_with_a_bad_one_is_refused(app: Any) -> None:
    async def scenario() -> None:
        bol, http = in_process(app)
        async with http:
            with pytest.raises(PermanentError, match="no EAN"):
                await bol.push_listings([Listing(sku="X", title="X")])
            with pytest.raises(PermanentError, match="not a valid EAN"):
                await bol.push_listings([listing("X", "8712345678900")])

    run(scenario())


def test_an_offer_made_in_the_seller_dashboard_is_adopted(app: Any, state: BolState) -> None:
    async def scenario() -> None:
        bol, http = in_process(app)
        async with http:
            other, other_http = in_process(app)
            async with other_http:  # an offer without our reference, as if made by hand
                await other.push_listings([listing("HAND", EAN_MUG, attributes={"price": "9.00"})])
            offer = next(iter(state.offers.values()))
            offer["reference"] = None
            await bol.push_listings([listing("MUG", EAN_MUG)])
            assert offer["reference"] == "MUG"
            assert len(state.offers) == 1

    run(scenario())


def test_injected_faults_map_to_transient_errors(app: Any, state: BolState) -> None:
    async def scenario() -> None:
        bol, http = in_process(app)
        faults = app.state.faults
        async with http:
            await bol.test_connection()
            faults.outage(5)
            with pytest.raises(TransientError, match="503"):
                await bol.test_connection()
            faults.clear()
            faults.throttle_rate = 1.0
            with pytest.raises(TransientError) as caught:
                await bol.test_connection()
            assert caught.value.retry_after == 1
            faults.clear()
            assert "offers" in await bol.test_connection()

    run(scenario())
