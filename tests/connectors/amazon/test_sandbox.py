"""The connector against the sandbox (in-process ASGI): listings, the feed path with a failing
message, rate limits, orders and shipment confirmations; the sandbox's answers checked against
Amazon's published models."""

from __future__ import annotations

import asyncio
import gzip
import json
from decimal import Decimal
from functools import cache
from typing import Any

import httpx
import jsonschema
import pytest

from channelhub.connectors.amazon import AmazonConnector
from channelhub.connectors.base import (
    Accepted,
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    PartialFailure,
    PermanentError,
    RateLimited,
    StockLevel,
    TransientError,
)
from channelhub.sandbox.amazon import AmazonState
from channelhub.sandbox.contracts import load_contract_json
from channelhub.sandbox.faults import Faults
from channelhub.sync.messages import CallContext, current_call

from .conftest import BASE, MARKETPLACE, SELLER, in_process, listing, run

GTINS = ["4006381333931", "4006381333948", "5901234123457", "4012345678901", "0012345678905"]


@cache
def definitions(name: str) -> dict[str, Any]:
    found: dict[str, Any] = load_contract_json("amazon", name)["definitions"]
    return found


def conforms(body: Any, spec: str, definition: str) -> None:
    schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions(spec)}
    jsonschema.validate(body, schema)


async def settle(amazon: AmazonConnector, accepted: Accepted) -> Accepted:
    while accepted.pending:
        await asyncio.sleep(0.01)
        accepted = await amazon.check_pending(accepted.pending)
    return accepted


async def token(http: httpx.AsyncClient, state: AmazonState) -> str:
    answer = await http.post(
        f"{BASE}/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": state.refresh_token,
            "client_id": state.client_id,
            "client_secret": state.client_secret,
        },
    )
    value: str = answer.json()["access_token"]
    return value


def test_a_batch_with_an_unlisted_sku_fails_only_that_sku(app: Any, state: AmazonState) -> None:
    async def scenario() -> None:
        amazon, http = in_process(app)
        await amazon.push_listings([listing("MUG-1")])
        with pytest.raises(PartialFailure) as caught:
            await amazon.push_stock([StockLevel("MUG-1", 4), StockLevel("NO-EAN", 2)])
        assert set(caught.value.failures) == {"NO-EAN"}
        assert isinstance(caught.value.failures["NO-EAN"], TransientError)
        # The listed SKU of the same batch went through.
        attributes = state.listings["MUG-1"]["attributes"]
        assert attributes["fulfillment_availability"][0]["quantity"] == 4
        await http.aclose()

    run(scenario())


def test_listing_is_validated_and_created_then_patched(app: Any, state: AmazonState) -> None:
    async def scenario() -> None:
        amazon, http = in_process(app)
        with pytest.raises(TransientError, match="no Amazon listing yet for SKU MUG-1"):
            await amazon.push_stock([StockLevel("MUG-1", 7)])  # kept for the listing
        assert (await amazon.push_listings([listing("MUG-1")])).detail == "MUG-1: created"
        stored = state.listings["MUG-1"]
        assert stored["requirements"] == "LISTING"
        assert stored["attributes"]["fulfillment_availability"][0]["quantity"] == 7
        # Stock and price changes patch only their attribute; content keeps the quantity.
        await amazon.push_stock([StockLevel("MUG-1", 3)])
        await amazon.push_prices([ChannelPrice("MUG-1", Decimal("14.5"), "EUR")])
        await amazon.push_listings([listing("MUG-1", title="Big mug", price=None)])
        attributes = state.listings["MUG-1"]["attributes"]
        assert attributes["item_name"][0]["value"] == "Big mug"
        assert attributes["fulfillment_availability"][0]["quantity"] == 3
        assert attributes["purchasable_offer"][0]["our_price"][0]["schedule"][0][
            "value_with_tax"
        ] == pytest.approx(14.5)
        assert await amazon.read_stock(["MUG-1", "NOPE"]) == {"MUG-1": 3}
        assert await amazon.read_prices(["MUG-1"]) == {"MUG-1": Decimal("14.5")}
        # On hold: the offer goes, the quantity stays for when it comes back.
        held = await amazon.push_listings([listing("MUG-1", on_hold=True)])
        assert "offer removed" in held.detail
        assert "purchasable_offer" not in state.listings["MUG-1"]["attributes"]
        assert await amazon.read_prices(["MUG-1"]) == {}
        # A price push while on hold does not bring the offer back; the end of the hold does.
        priced = await amazon.push_prices([ChannelPrice("MUG-1", Decimal("15"), "EUR")])
        assert "on hold, no offer to price: MUG-1" in priced.detail
        assert await amazon.read_prices(["MUG-1"]) == {}
        await amazon.push_listings([listing("MUG-1")])
        assert await amazon.read_prices(["MUG-1"]) == {"MUG-1": Decimal("12.95")}
        assert await amazon.read_stock(["MUG-1"]) == {"MUG-1": 3}
        await http.aclose()

    run(scenario())


def test_sandbox_refuses_an_incomplete_listing_with_issues(app: Any, state: AmazonState) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            headers = {"x-amz-access-token": await token(http, state)}
            path = f"{BASE}/listings/2021-08-01/items/{SELLER}/MUG-9"
            body = {
                "productType": "HOME",
                "attributes": {
                    "item_name": [{"value": "Mug", "marketplace_id": MARKETPLACE}],
                    "externally_assigned_product_identifier": [
                        {"type": "ean", "value": "4006381333932"}
                    ],
                    "condition_type": [{"value": "new_new"}],
                    "purchasable_offer": [{"currency": "EUR", "our_price": []}],
                },
            }
            answer = await http.put(
                path, params={"marketplaceIds": MARKETPLACE}, json=body, headers=headers
            )
            assert answer.status_code == 200
            assert answer.headers["x-amzn-RateLimit-Limit"] == "5"
            submission = answer.json()
            conforms(submission, "listingsItems_2021-08-01.json", "ListingsItemSubmissionResponse")
            assert submission["status"] == "INVALID"
            messages = {i["message"] for i in submission["issues"]}
            assert "'brand' is required but not supplied." in messages
            assert any("check digit" in m for m in messages)
            assert any("our_price" in m for m in messages)
            assert "MUG-9" not in state.listings
            missing = await http.get(path, params={"marketplaceIds": MARKETPLACE}, headers=headers)
            assert missing.status_code == 404
            conforms(missing.json(), "listingsItems_2021-08-01.json", "ErrorList")
            no_market = await http.get(path, headers=headers)
            assert no_market.status_code == 400
            assert no_market.json()["errors"][0]["code"] == "InvalidInput"

    run(scenario())


def test_bulk_stock_goes_through_a_feed_and_a_failing_message_names_its_sku(
    app: Any, state: AmazonState
) -> None:
    state.gzip_reports = True

    async def scenario() -> None:
        amazon, http = in_process(app, feed_threshold=2)
        skus = [f"MUG-{n}" for n in range(1, 5)]
        pairs = zip(skus, GTINS[:4], strict=True)
        await amazon.push_listings([listing(sku, gtin) for sku, gtin in pairs])
        del state.listings["MUG-3"]["attributes"]["item_name"]  # untouched by a stock patch
        state.listings.pop("MUG-4")  # deleted on Amazon's side since we listed it
        accepted = await amazon.push_stock([StockLevel(sku, 10 + n) for n, sku in enumerate(skus)])
        assert accepted.pending and accepted.pending.startswith("feed:")
        assert "JSON_LISTINGS_FEED" in accepted.detail
        assert [operation for operation, _ in state.requests[-2:]] == [
            "createFeedDocument",
            "createFeed",
        ]
        # Asked about a SKU the feed applied: done; about the failing one: its error.
        token = current_call.set(CallContext("stock", ("MUG-1",), 1))
        try:
            assert (await settle(amazon, accepted)).detail.endswith("processed")
        finally:
            current_call.reset(token)
        token = current_call.set(CallContext("stock", ("MUG-4",), 1))
        try:
            with pytest.raises(PermanentError) as caught:
                await settle(amazon, accepted)
        finally:
            current_call.reset(token)
        assert "SKU MUG-4 (message 4)" in str(caught.value)
        assert "has no listing to patch" in str(caught.value)
        # Without a key to ask about, every failing SKU is named.
        with pytest.raises(PermanentError, match="MUG-4"):
            await settle(amazon, accepted)
        quantities = {
            sku: entry["attributes"]["fulfillment_availability"][0]["quantity"]
            for sku, entry in state.listings.items()
        }
        assert quantities == {"MUG-1": 10, "MUG-2": 11, "MUG-3": 12}
        feed = next(iter(state.feeds.values()))
        conforms(feed.body(), "feeds_2021-06-30.json", "Feed")
        report = json.loads(
            gzip.decompress(state.documents[str(feed.result_document_id)].content or b"")
        )
        schema = load_contract_json("amazon", "listings-feed-processing-report-schema-v2.json")
        jsonschema.validate(report, schema)
        assert report["summary"]["messagesInvalid"] == 1
        uploaded = state.documents[feed.document_id].content or b""
        feed_schema = load_contract_json("amazon", "listings-feed-schema-v2.json")
        jsonschema.validate(json.loads(uploaded), feed_schema)
        # Only one getFeedDocument for the many jobs that follow one feed.
        fetched = [r for r in state.requests if r[0] == "getFeedDocument"]
        assert len(fetched) == 1
        await http.aclose()

    run(scenario())


def test_a_feed_that_is_not_readable_ends_fatal(app: Any, state: AmazonState) -> None:
    async def scenario() -> None:
        amazon, http = in_process(app)
        created = await amazon.client.request(
            "createFeedDocument",
            "POST",
            "/feeds/2021-06-30/documents",
            json={"contentType": "application/json; charset=UTF-8"},
        )
        target = created.json()
        await amazon.client.upload(target["url"], b"{not json", "application/json; charset=UTF-8")
        feed = await amazon.client.request(
            "createFeed",
            "POST",
            "/feeds/2021-06-30/feeds",
            json={
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": [MARKETPLACE],
                "inputFeedDocumentId": target["feedDocumentId"],
            },
        )
        with pytest.raises(PermanentError, match="Unreadable feed"):
            await settle(amazon, Accepted(pending=f"feed:{feed.json()['feedId']}"))
        await http.aclose()

    run(scenario())


def test_rate_limit_429_then_the_retry_succeeds(state: AmazonState, app: Any) -> None:
    state.plans["getListingsItem"] = (20.0, 1)

    async def scenario() -> None:
        amazon, http = in_process(app)
        await amazon.push_listings([listing("MUG-1")])
        await asyncio.sleep(0.1)  # the sandbox's bucket refills
        # Our own bucket believes in the default plan: the sandbox's tighter one answers 429.
        amazon._listed.clear()
        await amazon.read_stock(["MUG-1"])
        with pytest.raises(RateLimited) as caught:
            await amazon.read_stock(["MUG-1"])
        assert caught.value.status == 429
        assert caught.value.retry_after == pytest.approx(1 / 20)
        assert "QuotaExceeded" in str(caught.value)
        await asyncio.sleep(caught.value.retry_after or 0)
        assert await amazon.read_stock(["MUG-1"]) == {"MUG-1": 0}
        await http.aclose()

    run(scenario())


def test_orders_pending_skipped_until_unshipped_and_each_arrives_once(
    app: Any, state: AmazonState
) -> None:
    async def scenario() -> None:
        amazon, http = in_process(app, orders_page_size=1)
        first = state.create_order([("MUG-1", 2, 12.95)])
        pending = state.create_order([("MUG-2", 1, 9.5)], status="Pending")
        afn = state.create_order([("MUG-3", 1, 5.0)], fulfillment_channel="AFN")
        seen: list[str] = []
        cursor = None
        for _ in range(4):  # page size 1: NextToken pages
            page = await amazon.fetch_orders(cursor)
            seen += [order.external_id for order in page.orders]
            cursor = page.cursor
        assert seen == [first]
        assert afn not in seen  # Amazon ships its own (AFN) orders
        state.set_order_status(pending, "Unshipped")
        state.set_order_status(first, "Canceled")
        later = []
        for _ in range(3):
            page = await amazon.fetch_orders(cursor)
            later += list(page.orders)
            cursor = page.cursor
        assert sorted(o.external_id for o in later) == sorted([pending, first])
        cancelled = next(o for o in later if o.external_id == first)
        assert cancelled.cancelled
        for _ in range(2):
            page = await amazon.fetch_orders(cursor)
            assert page.orders == ()
            cursor = page.cursor
        await http.aclose()

    run(scenario())


def test_sandbox_orders_follow_the_v0_model(app: Any, state: AmazonState) -> None:
    state.create_order([("MUG-1", 2, 12.95)])

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            headers = {"x-amz-access-token": await token(http, state)}
            orders = await http.get(
                f"{BASE}/orders/v0/orders",
                params={"MarketplaceIds": MARKETPLACE, "CreatedAfter": "2020-01-01T00:00:00Z"},
                headers=headers,
            )
            conforms(orders.json(), "ordersV0.json", "GetOrdersResponse")
            [order] = orders.json()["payload"]["Orders"]
            items = await http.get(
                f"{BASE}/orders/v0/orders/{order['AmazonOrderId']}/orderItems", headers=headers
            )
            conforms(items.json(), "ordersV0.json", "GetOrderItemsResponse")
            bad = await http.get(
                f"{BASE}/orders/v0/orders", params={"MarketplaceIds": MARKETPLACE}, headers=headers
            )
            assert bad.status_code == 400
            conforms(bad.json(), "ordersV0.json", "GetOrdersResponse")
            denied = await http.get(
                f"{BASE}/orders/v0/orders", headers={"x-amz-access-token": "Atza|forged"}
            )
            assert denied.status_code == 403
            assert denied.json()["errors"][0]["code"] == "Unauthorized"

    run(scenario())


def test_shipment_confirmation_is_repeat_safe_and_needs_tracking(
    app: Any, state: AmazonState
) -> None:
    order_id = state.create_order([("MUG-1", 2, 12.95), ("MUG-2", 1, 3.0)])
    items = state.order_items[order_id]

    async def scenario() -> None:
        amazon, http = in_process(app, default_carrier_name="PostNL")
        lines = (FulfilmentLine(items[0]["OrderItemId"], "MUG-1", 2),)
        with pytest.raises(PermanentError, match="requires a tracking number"):
            await amazon.push_fulfilment(Fulfilment(order_id, lines))
        shipment = Fulfilment(order_id, lines, tracking_number="3SABC")
        await amazon.push_fulfilment(shipment)
        await amazon.push_fulfilment(shipment)  # after a crash: the same package again
        assert len(state.confirmations) == 1
        assert state.orders[order_id]["OrderStatus"] == "PartiallyShipped"
        package = state.confirmations[0]["packageDetail"]
        assert (package["trackingNumber"], package["carrierName"]) == ("3SABC", "PostNL")
        # Lines carry the shipped total: 3 of an item ordered twice is one unit too many.
        too_many = Fulfilment(
            order_id, (FulfilmentLine(items[0]["OrderItemId"], "MUG-1", 3),), tracking_number="X"
        )
        with pytest.raises(PermanentError, match="fewer units to ship"):
            await amazon.push_fulfilment(too_many)
        await http.aclose()

    run(scenario())


def test_an_expired_next_token_restarts_from_the_watermark(app: Any, state: AmazonState) -> None:
    first = state.create_order([("MUG-1", 1, 5.0)])

    async def scenario() -> None:
        amazon, http = in_process(app)
        cursor = json.dumps({"since": "2020-01-01T00:00:00+00:00", "token": "expired"})
        page = await amazon.fetch_orders(cursor)
        assert [o.external_id for o in page.orders] == [first]
        assert json.loads(page.cursor or "{}")["token"] is None
        await http.aclose()

    run(scenario())


def test_expired_access_tokens_are_renewed_and_faults_are_transient(
    app: Any, state: AmazonState, faults: Faults
) -> None:
    async def scenario() -> None:
        amazon, http = in_process(app)
        assert "A2SANDBOXSELLER" in await amazon.test_connection()
        state.expire_tokens()
        assert "A2SANDBOXSELLER" in await amazon.test_connection()
        assert len(state.tokens) == 2
        faults.error_rate = 1.0
        with pytest.raises(TransientError, match="InternalFailure"):
            await amazon.read_stock(["MUG-1"])
        faults.clear()
        faults.throttle_rate = 1.0
        with pytest.raises(RateLimited, match="QuotaExceeded"):
            await amazon.read_stock(["MUG-1"])
        faults.clear()
        faults.outage(30)
        with pytest.raises(TransientError, match="ServiceUnavailable"):
            await amazon.fetch_orders(None)
        await http.aclose()

    run(scenario())


def test_order_items_budget_spent_mid_page_returns_what_was_read(
    app: Any, state: AmazonState
) -> None:
    state.plans["getOrderItems"] = (0.001, 1)  # one call, then nothing for a long while
    first = state.create_order([("MUG-1", 1, 5.0)])
    second = state.create_order([("MUG-2", 1, 6.0)])

    async def scenario() -> None:
        amazon, http = in_process(app)
        page = await amazon.fetch_orders(None)
        assert [o.external_id for o in page.orders] == [first]
        with pytest.raises(RateLimited):  # nothing new could be read
            await amazon.fetch_orders(page.cursor)
        # The connector adopted Amazon's announced rate: it does not even ask.
        assert amazon.client.bucket("getOrderItems").rate == pytest.approx(0.001)
        state.plans["getOrderItems"] = (100.0, 30)
        state._buckets.pop("getOrderItems")
        later, later_http = in_process(app)  # e.g. the worker restarted: default plans again
        again = await later.fetch_orders(page.cursor)
        assert [o.external_id for o in again.orders] == [second]
        await http.aclose()
        await later_http.aclose()

    run(scenario())
