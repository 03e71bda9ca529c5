"""The Amazon connector: Listings Items API 2021-08-01 for content, price and quantity; the
JSON_LISTINGS_FEED (Feeds API 2021-06-30, feed schema v2) for stock and price batches above a
threshold; Orders API v0 for orders and shipment confirmations.

A listing is created with putListingsItem (product facts, offer, the quantity known so far)
and changed afterwards with patchListingsItem, which replaces only the attributes it names:
putListingsItem replaces a listing whole and would drop the quantity a stock push set. Which
SKUs exist is learnt with getListingsItem and remembered. A stock value for a SKU that is not
listed yet is kept and sent with the listing once it is pushed (the listing carries its price).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from channelhub.connectors.amazon import mapping
from channelhub.connectors.amazon.auth import LwaTokens
from channelhub.connectors.amazon.client import SpApiClient
from channelhub.connectors.amazon.config import AmazonConfig
from channelhub.connectors.amazon.mapping import FeedProblem, Marketplace
from channelhub.connectors.base import (
    Accepted,
    Capability,
    ChannelOrder,
    ChannelPrice,
    Connector,
    ConnectorConfig,
    Fulfilment,
    Listing,
    ModelListing,
    OrderPage,
    PartialFailure,
    PermanentError,
    RateLimit,
    RateLimited,
    StockLevel,
    TransientError,
)

LISTINGS = "/listings/2021-08-01/items"
FEEDS = "/feeds/2021-06-30"
ORDERS = "/orders/v0/orders"
FEED_PREFIX = "feed:"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
# How long the engine should wait before retrying a value whose listing does not exist yet.
WAIT_FOR_LISTING_SECONDS = 3.0
# Many jobs wait on one feed: one getFeed answers all that ask within this many seconds.
FEED_STATUS_REUSE_SECONDS = 1.5
DEFAULT_ORDER_HISTORY = timedelta(days=30)
FEEDS_REMEMBERED = 200  # feeds whose outcome a worker keeps for the jobs that follow them


@dataclass
class _Feed:
    skus: dict[int, str] = field(default_factory=dict)  # messageId -> SKU
    checked_at: float = float("-inf")
    problems: list[FeedProblem] | None = None  # set once the feed finished


class AmazonConnector(Connector):
    """Amazon Selling Partner API for one seller in one marketplace."""

    platform: ClassVar[str] = "amazon"
    api_version: ClassVar[str] = (
        "Listings Items API 2021-08-01; Feeds API 2021-06-30 with JSON_LISTINGS_FEED v2; "
        "Orders API v0; Login with Amazon (refresh token)"
    )
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.PUSH_LISTINGS,
            Capability.PUSH_STOCK,
            Capability.PUSH_PRICES,
            Capability.PULL_ORDERS,
            Capability.PUSH_FULFILMENTS,
            Capability.READ_STOCK,
            Capability.READ_PRICES,
        }
    )
    config_model: ClassVar[type[ConnectorConfig]] = AmazonConfig
    # putListingsItem/getListingsItem: 5 per second, bursts of 10.
    rate_limit: ClassVar[RateLimit] = RateLimit(rate=5, burst=10)
    max_batch: ClassVar[int] = 500
    # An offer per SKU, matched by its EAN. Variation families (parentage_level, variation_theme)
    # are product-type attributes whose schemas Amazon serves only at run time, so a parent
    # cannot be checked against a contract here: the variants are sent, each as an offer.
    models: ClassVar[ModelListing] = ModelListing.NOT_LISTED

    def __init__(
        self,
        config: ConnectorConfig,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        super().__init__(config, http)
        if not isinstance(config, AmazonConfig):
            raise TypeError("AmazonConnector needs an AmazonConfig")
        self.settings = config
        self.tokens = LwaTokens(
            http,
            token_url=config.token_url,
            client_id=config.client_id,
            client_secret=config.client_secret.get_secret_value(),
            refresh_token=config.refresh_token.get_secret_value(),
            clock=clock,
        )
        self.client = SpApiClient(
            http, self.tokens, base_url=config.base_url, clock=clock, sleep=sleep
        )
        self.where = Marketplace(
            config.marketplace_id, config.language_tag, config.product_type, config.condition_type
        )
        self._clock = clock
        self._listed: set[str] = set()  # SKUs Amazon has a listing for
        self._types: dict[str, str] = {}  # their product types (a patch must name it)
        self._waiting_stock: dict[str, int] = {}  # sent with the listing when it is created
        # SKUs on hold: their offer was removed, and a price push must not bring it back.
        self._held: set[str] = set()
        self._feeds: dict[str, _Feed] = {}

    def _item_path(self, sku: str) -> str:
        return f"{LISTINGS}/{self.settings.seller_id}/{_quote(sku)}"

    # --- connection ----------------------------------------------------------------------

    async def test_connection(self) -> str:
        response = await self.client.request(
            "getFeeds",
            "GET",
            f"{FEEDS}/feeds",
            params={"feedTypes": "JSON_LISTINGS_FEED", "pageSize": 10},
        )
        count = len(response.json().get("feeds") or [])
        return (
            f"Amazon seller {self.settings.seller_id} reached in marketplace "
            f"{self.settings.marketplace_id}: {count} recent listings feeds"
        )

    # --- listings ------------------------------------------------------------------------

    async def push_listings(self, listings: Sequence[Listing]) -> Accepted:
        notes = [await self._push_listing(listing) for listing in listings]
        return Accepted(detail="; ".join(notes))

    async def _push_listing(self, listing: Listing) -> str:
        sku = listing.sku
        try:
            if await self._is_listed(sku):
                body: dict[str, Any] = {
                    "productType": mapping.product_type_of(listing, self.where),
                    "patches": mapping.listing_patches(listing, self.where),
                }
                operation, method, done = "patchListingsItem", "PATCH", "updated"
            else:
                quantity = self._waiting_stock.get(sku, 0)
                body = mapping.put_body(listing, self.where, quantity)
                operation, method, done = "putListingsItem", "PUT", "created"
        except ValueError as error:
            raise PermanentError(f"SKU {sku}: Amazon cannot list it: {error}") from None
        await self._submit(sku, operation, method, body)
        self._listed.add(sku)
        self._types[sku] = str(body["productType"])
        self._waiting_stock.pop(sku, None)
        if listing.on_hold:
            self._held.add(sku)
        else:
            self._held.discard(sku)
        held = " (on hold: offer removed)" if listing.on_hold else ""
        return f"{sku}: {done}{held}"

    async def _submit(self, sku: str, operation: str, method: str, body: dict[str, Any]) -> None:
        """put/patchListingsItem; an INVALID submission is a PermanentError naming its issues."""
        response = await self.client.request(
            operation,
            method,
            self._item_path(sku),
            params={"marketplaceIds": self.settings.marketplace_id, "issueLocale": "en_US"},
            json=body,
        )
        answer = response.json()
        errors = mapping.submission_errors(answer)
        if answer.get("status") == "INVALID" or errors:
            raise PermanentError(
                f"SKU {sku}: Amazon refused the listing ({answer.get('status')}): "
                + ("; ".join(errors) or "no issue given")
            )

    async def _is_listed(self, sku: str) -> bool:
        if sku in self._listed:
            return True
        item = await self._get_item(sku, "summaries")
        if item is None:
            return False
        self._listed.add(sku)
        for summary in item.get("summaries") or []:
            if summary.get("productType"):
                self._types[sku] = str(summary["productType"])
        return True

    async def _get_item(self, sku: str, included: str) -> dict[str, Any] | None:
        try:
            response = await self.client.request(
                "getListingsItem",
                "GET",
                self._item_path(sku),
                params={"marketplaceIds": self.settings.marketplace_id, "includedData": included},
            )
        except PermanentError as error:
            if error.status == 404:
                return None
            raise
        item: dict[str, Any] = response.json()
        return item

    # --- stock and prices ----------------------------------------------------------------

    async def push_stock(self, levels: Sequence[StockLevel]) -> Accepted:
        work = [(level.sku, mapping.stock_patches(level)) for level in levels]
        quantities = {level.sku: max(0, level.quantity) for level in levels}
        return await self._patch_many(work, "stock", quantities)

    async def push_prices(self, prices: Sequence[ChannelPrice]) -> Accepted:
        """Each SKU's offer price; a SKU on hold keeps no offer (its listing brings the price
        back with the offer when the hold ends)."""
        work = [
            (price.sku, mapping.price_patches(price, self.where))
            for price in prices
            if price.sku not in self._held
        ]
        held = sorted(price.sku for price in prices if price.sku in self._held)
        accepted = await self._patch_many(work, "price", {}) if work else Accepted()
        if not held:
            return accepted
        note = f"on hold, no offer to price: {', '.join(held)}"
        return Accepted(accepted.pending, "; ".join(filter(None, [accepted.detail, note])))

    async def _patch_many(
        self, work: list[tuple[str, list[dict[str, Any]]]], what: str, quantities: dict[str, int]
    ) -> Accepted:
        """Patch each SKU's listing: through one feed when many are known to be listed, one
        by one otherwise; values for SKUs not listed yet wait for their listing."""
        known = [(sku, patches) for sku, patches in work if sku in self._listed]
        bulk = len(known) > self.settings.feed_threshold
        single = [(sku, patches) for sku, patches in work if not bulk or sku not in self._listed]
        missing: list[str] = []
        for sku, patches in single:
            if not await self._is_listed(sku):
                if sku in quantities:
                    self._waiting_stock[sku] = quantities[sku]
                missing.append(sku)
                continue
            body = {"productType": self._product_type(sku), "patches": patches}
            await self._submit(sku, "patchListingsItem", "PATCH", body)
        if not bulk:
            done = Accepted(detail=f"{len(single) - len(missing)} {what} updates sent")
        else:
            feed_id = await self.submit_feed(known)
            done = Accepted(
                pending=FEED_PREFIX + feed_id,
                detail=f"{len(known)} {what} updates in JSON_LISTINGS_FEED {feed_id}",
            )
        if missing:
            # Only the SKUs without a listing wait; the others of the batch are done.
            kept = "kept and sent with the listing" if quantities else "sent again"
            waits = {
                sku: TransientError(
                    f"no Amazon listing yet for SKU {sku}: the {what} is {kept} once the "
                    "listing is pushed",
                    retry_after=WAIT_FOR_LISTING_SECONDS,
                )
                for sku in missing
            }
            if len(missing) == len(work):
                raise next(iter(waits.values())) if len(waits) == 1 else PartialFailure(waits)
            raise PartialFailure(waits, done)
        return done

    def _product_type(self, sku: str) -> str:
        return self._types.get(sku, self.settings.product_type)

    async def submit_feed(self, work: Sequence[tuple[str, list[dict[str, Any]]]]) -> str:
        """createFeedDocument, upload the JSON_LISTINGS_FEED document, createFeed: the feed id."""
        typed = [(sku, self._product_type(sku), patches) for sku, patches in work]
        document = mapping.feed_document(self.settings.seller_id, typed)
        created = await self.client.request(
            "createFeedDocument",
            "POST",
            f"{FEEDS}/documents",
            json={"contentType": FEED_CONTENT_TYPE},
        )
        target = created.json()
        content = json.dumps(document, separators=(",", ":")).encode()
        await self.client.upload(str(target["url"]), content, FEED_CONTENT_TYPE)
        feed = await self.client.request(
            "createFeed",
            "POST",
            f"{FEEDS}/feeds",
            json={
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": [self.settings.marketplace_id],
                "inputFeedDocumentId": str(target["feedDocumentId"]),
            },
        )
        feed_id = str(feed.json()["feedId"])
        self._feeds[feed_id] = _Feed(skus={m["messageId"]: m["sku"] for m in document["messages"]})
        while len(self._feeds) > FEEDS_REMEMBERED:  # the oldest first
            del self._feeds[next(iter(self._feeds))]
        return feed_id

    async def check_pending(self, pending: str) -> Accepted:
        """Follow a feed until Amazon finished it; the processing report's errors for the
        SKU being asked about (every SKU when unknown) become a PermanentError naming them."""
        if not pending.startswith(FEED_PREFIX):
            raise PermanentError(f"not an Amazon feed reference: {pending!r}")
        feed_id = pending.removeprefix(FEED_PREFIX)
        problems = await self.feed_problems(feed_id)
        if problems is None:
            return Accepted(pending=pending)
        key = _current_key()
        relevant = [p for p in problems if key is None or p.sku in (None, key)]
        if relevant:
            raise PermanentError(
                f"Amazon feed {feed_id}: "
                + "; ".join(
                    f"SKU {p.sku or '?'} (message {p.message_id or '?'}): {p.message}"
                    for p in relevant
                )
            )
        return Accepted(detail=f"Amazon feed {feed_id} processed")

    async def feed_problems(self, feed_id: str) -> list[FeedProblem] | None:
        """None while Amazon still processes the feed, else its ERROR issues (maybe none)."""
        feed = self._feeds.setdefault(feed_id, _Feed())
        if feed.problems is not None:
            return feed.problems
        if self._clock() - feed.checked_at < FEED_STATUS_REUSE_SECONDS:
            return None
        feed.checked_at = self._clock()
        status = (await self.client.request("getFeed", "GET", f"{FEEDS}/feeds/{feed_id}")).json()
        state = status.get("processingStatus")
        if state in ("IN_QUEUE", "IN_PROGRESS"):
            return None
        problems: list[FeedProblem] = []
        if status.get("resultFeedDocumentId"):
            report = await self._report(str(status["resultFeedDocumentId"]))
            problems = mapping.report_problems(report, feed.skus)
        if state == "CANCELLED":
            problems.append(FeedProblem(None, None, "the feed was cancelled before processing"))
        elif state != "DONE" and not problems:
            problems.append(FeedProblem(None, None, f"feed processing ended {state}"))
        feed.problems = problems
        return problems

    async def _report(self, document_id: str) -> Any:
        answer = await self.client.request(
            "getFeedDocument", "GET", f"{FEEDS}/documents/{document_id}"
        )
        document = answer.json()
        content = await self.client.download(str(document["url"]))
        if document.get("compressionAlgorithm") == "GZIP":
            content = gzip.decompress(content)
        try:
            return json.loads(content)
        except ValueError as error:
            raise TransientError(f"unreadable processing report {document_id}") from error

    async def read_stock(self, skus: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for sku in skus:
            item = await self._get_item(sku, "fulfillmentAvailability")
            quantity = mapping.listing_quantity(item) if item else None
            if quantity is not None:
                found[sku] = quantity
        return found

    async def read_prices(self, skus: Sequence[str]) -> dict[str, Decimal]:
        found: dict[str, Decimal] = {}
        for sku in skus:
            item = await self._get_item(sku, "offers")
            price = mapping.listing_price(item, self.settings.marketplace_id) if item else None
            if price is not None:
                found[sku] = price
        return found

    # --- orders --------------------------------------------------------------------------

    async def fetch_orders(self, cursor: str | None) -> OrderPage:
        """One getOrders page of orders changed since the cursor's watermark, with their
        items. Pending orders are left for a later poll (Amazon updates them when payment is
        authorized). When getOrderItems' budget runs out mid-page, the orders read so far are
        returned and the page is read again next time, skipping them."""
        state = _OrderCursor.load(cursor)
        try:
            response = await self.client.request(
                "getOrders", "GET", ORDERS, params=self._orders_query(state)
            )
        except PermanentError as error:
            if not (state.token and error.status == 400):
                raise
            # An expired NextToken: read from the watermark again (imports are idempotent).
            state.token = None
            response = await self.client.request(
                "getOrders", "GET", ORDERS, params=self._orders_query(state)
            )
        payload = response.json().get("payload") or {}
        orders: list[ChannelOrder] = []
        for order in payload.get("Orders") or []:
            order_id, updated = str(order["AmazonOrderId"]), str(order.get("LastUpdateDate", ""))
            state.note_change(mapping.parse_time(updated))
            if state.seen.get(order_id) == updated or not mapping.is_ready(order):
                continue
            try:
                items = await self._order_items(order_id)
            except RateLimited:
                if not orders:
                    raise
                return OrderPage(tuple(orders), state.dump())  # the same page again, later
            orders.append(mapping.order_from_amazon(order, items))
            state.seen[order_id] = updated
        return OrderPage(tuple(orders), state.advance(payload.get("NextToken")).dump())

    def _orders_query(self, state: _OrderCursor) -> dict[str, Any]:
        params: dict[str, Any] = {"MarketplaceIds": self.settings.marketplace_id}
        if state.token:
            params["NextToken"] = state.token
            return params
        params["FulfillmentChannels"] = ",".join(self.settings.fulfillment_channels)
        params["MaxResultsPerPage"] = self.settings.orders_page_size
        if state.since:
            params["LastUpdatedAfter"] = mapping.amazon_time(state.since)
        else:
            start = self.settings.import_orders_since or (datetime.now(UTC) - DEFAULT_ORDER_HISTORY)
            params["CreatedAfter"] = mapping.amazon_time(start)
        return params

    async def _order_items(self, order_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = {"NextToken": token} if token else None
            response = await self.client.request(
                "getOrderItems", "GET", f"{ORDERS}/{_quote(order_id)}/orderItems", params=params
            )
            payload = response.json().get("payload") or {}
            items += payload.get("OrderItems") or []
            token = payload.get("NextToken")
            if not token:
                return items

    async def push_fulfilment(self, fulfilment: Fulfilment) -> Accepted:
        order_id = fulfilment.external_order_id
        if not fulfilment.lines:
            raise PermanentError(f"order {order_id}: no lines to confirm as shipped")
        if not fulfilment.tracking_number:
            raise PermanentError(
                f"order {order_id}: Amazon's confirmShipment requires a tracking number"
            )
        # The hub sends each line's shipped total; Amazon's order items say what is
        # confirmed already, so a repeat confirms nothing and a second package only its units.
        confirmed = {
            str(item.get("OrderItemId")): int(item.get("QuantityShipped") or 0)
            for item in await self._order_items(order_id)
        }
        missing = tuple(
            replace(line, quantity=line.quantity - confirmed.get(line.external_line_id, 0))
            for line in fulfilment.lines
            if line.quantity > confirmed.get(line.external_line_id, 0)
        )
        if not missing:
            return Accepted(detail=f"shipment of order {order_id} already confirmed to Amazon")
        body = mapping.confirm_shipment_body(
            replace(fulfilment, lines=missing),
            self.settings.marketplace_id,
            default_carrier=self.settings.default_carrier,
            default_carrier_name=self.settings.default_carrier_name,
            shipped_at=datetime.now(UTC),
        )
        await self.client.request(
            "confirmShipment",
            "POST",
            f"{ORDERS}/{_quote(order_id)}/shipmentConfirmation",
            json=body,
        )
        return Accepted(detail=f"shipment of order {order_id} confirmed to Amazon")


class _OrderCursor:
    """Where order polling stands: the LastUpdatedAfter watermark, the page token of an
    unfinished pagination, the newest change seen in it, and the orders already taken at
    their last update (so an order at the watermark is not fetched twice)."""

    def __init__(
        self,
        since: datetime | None,
        token: str | None,
        high: datetime | None,
        seen: dict[str, str],
    ) -> None:
        self.since, self.token, self.high, self.seen = since, token, high, seen

    @classmethod
    def load(cls, cursor: str | None) -> _OrderCursor:
        if not cursor:
            return cls(None, None, None, {})
        try:
            data = json.loads(cursor)
            seen = {str(k): str(v) for k, v in dict(data.get("seen") or {}).items()}
            return cls(
                mapping.parse_time(data.get("since")),
                data.get("token") or None,
                mapping.parse_time(data.get("high")),
                seen,
            )
        except (ValueError, TypeError, AttributeError):
            return cls(None, None, None, {})  # unreadable: start over, imports are idempotent

    def note_change(self, moment: datetime | None) -> None:
        if moment is not None and (self.high is None or moment > self.high):
            self.high = moment

    def advance(self, next_token: str | None) -> _OrderCursor:
        """The cursor after a whole page: the next page, or a new watermark."""
        if next_token:
            return _OrderCursor(self.since, next_token, self.high, self.seen)
        since = self.high or self.since
        # getOrders takes whole seconds: what changed in the watermark's second comes again.
        floor = since.replace(microsecond=0) if since else None
        keep = {
            order_id: updated
            for order_id, updated in self.seen.items()
            if floor is not None and (mapping.parse_time(updated) or floor) >= floor
        }
        return _OrderCursor(since, None, None, keep)

    def dump(self) -> str:
        return json.dumps(
            {
                "since": self.since.isoformat() if self.since else None,
                "token": self.token,
                "high": self.high.isoformat() if self.high else None,
                "seen": self.seen,
            }
        )


def _quote(segment: str) -> str:
    from urllib.parse import quote

    return quote(segment, safe="")


def _current_key() -> str | None:
    """The one key the engine is following a confirmation for, when it says (its call
    context); None means 'any key'."""
    from channelhub.sync.messages import current_call

    context = current_call.get()
    if context is None or len(context.keys) != 1:
        return None
    return context.keys[0]
