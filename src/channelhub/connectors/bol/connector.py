"""The bol.com connector: offers (Offers API v11), orders, shipments and cancellations (v10).

bol.com keys an offer by its offer id and its EAN; the hub's SKU travels as the offer's
``reference``. We look offers up by reference (then by EAN, to adopt an offer made in the
seller dashboard) and keep what bol.com confirmed in memory, so a push sends only what changed.
Offers v11 writes are synchronous (201/204, "you do not need to implement the process status
mechanism anymore": Retailer-API/v11/functional/offer-api/whats-new-in-this-api.html); v10
shipments and cancellations answer 202 with a process status that ``check_pending`` follows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import httpx
from stdnum import ean as ean_check

from channelhub.connectors.base import (
    Accepted,
    Cancellation,
    Capability,
    ChannelOrder,
    ChannelPrice,
    Connector,
    ConnectorConfig,
    DeliveryError,
    Fulfilment,
    FulfilmentLine,
    Listing,
    ModelListing,
    OrderPage,
    PermanentError,
    RateLimit,
    StockLevel,
    TransientError,
    WebhookMessage,
)
from channelhub.connectors.bol import mapping, push
from channelhub.connectors.bol.auth import TokenSource
from channelhub.connectors.bol.client import BolClient
from channelhub.connectors.bol.config import BolConfig
from channelhub.connectors.bol.mapping import Offer, OfferTerms

log = logging.getLogger("channelhub.connectors.bol")
PENDING_PREFIX = "process-status:"
# How long the engine should wait before retrying a value whose offer does not exist yet.
WAIT_FOR_OFFER_SECONDS = 5.0
# How long to wait for bol.com to finish an earlier shipment or cancellation of an item.
WAIT_FOR_PROCESS_SECONDS = 1.0
_PAGE_SIZE = 100  # the largest page GET /retailer/offers serves
_BULK_READ_THRESHOLD = 50  # above this many SKUs, reading every page is cheaper than one each


class BolConnector(Connector):
    """bol.com Retailer API: Offers API v11 (11.3.0) and Retailer/Shared API v10."""

    platform: ClassVar[str] = "bolcom"
    api_version: ClassVar[str] = "offers v11 (11.3.0); retailer and shared v10"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.PUSH_LISTINGS,
            Capability.PUSH_STOCK,
            Capability.PUSH_PRICES,
            Capability.PULL_ORDERS,
            Capability.RECEIVE_WEBHOOKS,
            Capability.PUSH_FULFILMENTS,
            Capability.PUSH_CANCELLATIONS,
            Capability.READ_STOCK,
            Capability.READ_PRICES,
        }
    )
    config_model: ClassVar[type[ConnectorConfig]] = BolConfig
    # Offer writes: bol.com publishes 25-50 requests per second per endpoint; stay under both.
    rate_limit: ClassVar[RateLimit] = RateLimit(rate=20, burst=25)
    max_batch: ClassVar[int] = 1  # the offers API has no batch endpoint
    # An offer is per EAN; a product model has neither EAN nor stock: its variants are sent.
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
        if not isinstance(config, BolConfig):
            raise TypeError("BolConnector needs a BolConfig")
        self.settings = config
        self.tokens = TokenSource(
            http,
            token_url=config.login_url.rstrip("/") + "/token",
            client_id=config.client_id,
            client_secret=config.client_secret.get_secret_value(),
            clock=clock,
        )
        self.client = BolClient(http, self.tokens, api_url=config.api_url, clock=clock, sleep=sleep)
        self.terms = OfferTerms(
            fulfilment_method=config.fulfilment_method,
            min_days_to_customer=config.min_days_to_customer,
            max_days_to_customer=config.max_days_to_customer,
            ultimate_order_time=config.ultimate_order_time,
            economic_operator_id=config.economic_operator_id,
            countries=tuple(config.countries),
        )
        self._offers: dict[str, Offer] = {}  # by SKU: what bol.com last confirmed
        # Values that arrived before their offer existed; used when the offer is created.
        self._waiting_prices: dict[str, Decimal] = {}
        self._waiting_stock: dict[str, int] = {}

    # --- connection ----------------------------------------------------------------------

    async def test_connection(self) -> str:
        response = await self.client.request(
            "GET", "/retailer/offers", version="v11", params={"page-size": 25}
        )
        count = len(response.json().get("offers", []))
        more = " or more" if count == 25 else ""
        detail = f"bol.com retailer account reached: {count}{more} offers"
        if self.settings.push_url:
            subscription = await self.subscribe(self.settings.push_url)
            await self.refresh_signature_keys(force=True)
            detail += f"; ORDER push notifications to {self.settings.push_url} ({subscription})"
        return detail

    # --- push notifications (Retailer API v10 subscriptions) -----------------------------

    async def subscribe(self, url: str) -> str:
        """Make sure a WEBHOOK subscription sends ORDER events to ``url`` (idempotent: an
        existing subscription of that url is reused, enabled and given ORDER if it lacks it)."""
        response = await self.client.request("GET", "/retailer/subscriptions", version="v10")
        for found in response.json().get("subscriptions", []):
            if found.get("subscriptionType") != "WEBHOOK" or found.get("url") != url:
                continue
            resources = list(found.get("resources") or [])
            if "ORDER" in resources and found.get("enabled", True) is not False:
                return f"subscription {found['id']}"
            body = {
                "resources": sorted({*resources, "ORDER"} - {"TEST"}),
                "url": url,
                "subscriptionType": "WEBHOOK",
                "enabled": True,
            }
            await self.client.request(
                "PUT", f"/retailer/subscriptions/{found['id']}", version="v10", json=body
            )
            return f"subscription {found['id']} updated"
        body = {"resources": ["ORDER"], "url": url, "subscriptionType": "WEBHOOK", "enabled": True}
        created = await self.client.request(
            "POST", "/retailer/subscriptions", version="v10", json=body
        )
        entity = created.json().get("entityId")
        return f"subscription {entity} created" if entity else "subscription requested"

    async def refresh_signature_keys(self, *, force: bool = False) -> None:
        """Fetch bol.com's push signature keys into the process-wide cache ``verify_webhook``
        reads (when stale, or ``force``)."""
        if not force and not push.keys_stale(self.settings.api_url):
            return
        response = await self.client.request("GET", push.KEYS_PATH, version="v10")
        push.store_keys(self.settings.api_url, push.load_keys(response.json()))

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        settings = self.settings

        def fetch() -> Any:
            return push.fetch_keys_blocking(
                settings.api_url,
                settings.login_url,
                settings.client_id,
                settings.client_secret.get_secret_value(),
            )

        return push.verify(settings.api_url, headers, body, fetch_blocking=fetch)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookMessage:
        """bol.com sends a reference, never the order: ``order`` stays None and the engine
        polls for it (an ORDER notification makes the connection's order poll due now)."""
        note = push.parse(body)
        return WebhookMessage(event_id=note.event_id, topic=note.topic, entity=note.resource_id)

    # --- offers --------------------------------------------------------------------------

    async def push_listings(self, listings: Sequence[Listing]) -> Accepted:
        notes: list[str] = []
        for listing in listings:
            notes.append(await self._push_listing(listing))
        return Accepted(detail="; ".join(note for note in notes if note))

    async def _push_listing(self, listing: Listing) -> str:
        ean = _valid_ean(listing)
        offer = await self._find_offer(listing.sku, ean=ean)
        if offer is not None:
            patch = mapping.listing_patch(listing, offer, self.terms)
            if not patch:
                return ""
            await self._patch(listing.sku, offer, patch)
            return f"{listing.sku}: updated {', '.join(sorted(patch))}"
        price = _listing_price(listing) or self._waiting_prices.get(listing.sku)
        if price is None:
            raise TransientError(
                f"SKU {listing.sku}: bol.com needs a price to create an offer; "
                "waiting for the SKU's price to be pushed",
                retry_after=WAIT_FOR_OFFER_SECONDS,
            )
        stock = self._waiting_stock.get(listing.sku, 0)
        body = mapping.create_offer_body(listing, ean, self.terms, price, stock)
        response = await self.client.request("POST", "/retailer/offers", version="v11", json=body)
        offer_id = str(response.json()["offerId"])
        self._offers[listing.sku] = Offer(
            offer_id=offer_id,
            ean=ean,
            reference=body["reference"],
            on_hold=listing.on_hold,
            stock=body["stock"]["amount"],
            price=mapping.unit_price(body["pricing"]),
            title=body["unknownProductTitle"],
            economic_operator_id=body.get("economicOperatorId"),
        )
        self._waiting_prices.pop(listing.sku, None)
        self._waiting_stock.pop(listing.sku, None)
        return f"{listing.sku}: offer {offer_id} created"

    async def push_stock(self, levels: Sequence[StockLevel]) -> Accepted:
        notes: list[str] = []
        missing: list[str] = []
        for level in levels:
            offer = await self._find_offer(level.sku)
            amount, note = mapping.clamp_stock(level.quantity)
            if note:
                notes.append(f"{level.sku}: {note}")
            if offer is None:
                self._waiting_stock[level.sku] = amount
                missing.append(level.sku)
                continue
            self._waiting_stock.pop(level.sku, None)
            patch = mapping.stock_patch(offer, amount)
            if patch is not None:
                await self._patch(level.sku, offer, patch)
        _raise_if_missing(missing, "stock")
        return Accepted(detail="; ".join(notes))

    async def push_prices(self, prices: Sequence[ChannelPrice]) -> Accepted:
        notes: list[str] = []
        missing: list[str] = []
        for price in prices:
            _check_price(price)
            if price.compare_at is not None:
                notes.append(f"{price.sku}: bol.com shows no compare-at price; not sent")
            offer = await self._find_offer(price.sku)
            if offer is None:
                self._waiting_prices[price.sku] = price.amount
                missing.append(price.sku)
                continue
            self._waiting_prices.pop(price.sku, None)
            patch = mapping.price_patch(offer, price.amount)
            if patch is not None:
                await self._patch(price.sku, offer, patch)
        _raise_if_missing(missing, "price")
        return Accepted(detail="; ".join(notes))

    async def read_stock(self, skus: Sequence[str]) -> dict[str, int]:
        offers = await self._read_offers(skus)
        return {sku: offer.stock for sku, offer in offers.items() if offer.stock is not None}

    async def read_prices(self, skus: Sequence[str]) -> dict[str, Decimal]:
        offers = await self._read_offers(skus)
        return {sku: offer.price for sku, offer in offers.items() if offer.price is not None}

    async def _patch(self, sku: str, offer: Offer, patch: dict[str, Any]) -> None:
        path = f"/retailer/offers/{offer.offer_id}"
        await self.client.request("PATCH", path, version="v11", json=patch)
        self._offers[sku] = mapping.with_changes(offer, patch)

    async def _find_offer(self, sku: str, *, ean: str | None = None) -> Offer | None:
        """The offer whose reference is ``sku`` (cached), else an unreferenced one for ``ean``."""
        if sku in self._offers:
            return self._offers[sku]
        for offer in await self._list_offers({"reference": sku}):
            if offer.reference == sku:
                self._offers[sku] = offer
                return offer
        if ean is None:
            return None
        for offer in await self._list_offers({"eans": ean}):
            if offer.ean == ean and not offer.reference:
                return offer  # made in the seller dashboard: the listing patch adopts it
        return None

    async def _list_offers(self, params: dict[str, Any]) -> list[Offer]:
        response = await self.client.request(
            "GET", "/retailer/offers", version="v11", params=params
        )
        return [mapping.offer_from_bol(body) for body in response.json().get("offers", [])]

    async def _read_offers(self, skus: Sequence[str]) -> dict[str, Offer]:
        """Fresh offers for ``skus`` from bol.com (the cache is refreshed, never trusted)."""
        wanted = set(skus)
        if len(wanted) <= _BULK_READ_THRESHOLD:
            for sku in wanted:
                self._offers.pop(sku, None)
                await self._find_offer(sku)
            return {sku: self._offers[sku] for sku in wanted if sku in self._offers}
        found: dict[str, Offer] = {}
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"page-size": _PAGE_SIZE}
            if cursor:
                params["cursor"] = cursor
            response = await self.client.request(
                "GET", "/retailer/offers", version="v11", params=params
            )
            body = response.json()
            for offer in map(mapping.offer_from_bol, body.get("offers", [])):
                if offer.reference in wanted:
                    found[offer.reference] = offer
            cursor = (body.get("page") or {}).get("nextCursor")
            if not cursor or not body.get("offers"):
                break
        self._offers.update(found)
        return found

    # --- orders --------------------------------------------------------------------------

    async def fetch_orders(self, cursor: str | None) -> OrderPage:
        """One page of open orders changed since the cursor's watermark, in full detail."""
        if self.settings.push_url:
            try:  # keep the push signature keys fresh (at most once an hour)
                await self.refresh_signature_keys()
            except DeliveryError as error:
                log.warning("bol.com signature keys not refreshed: %s", error.message)
        state = _OrderCursor.parse(cursor)
        params = {
            "page": state.page,
            "status": "OPEN",
            "fulfilment-method": self.settings.fulfilment_method,
        }
        response = await self.client.request(
            "GET", "/retailer/orders", version="v10", params=params
        )
        reduced = response.json().get("orders", [])
        orders: list[ChannelOrder] = []
        high, at_high = state.high, set(state.at_high)
        for summary in reduced:
            changed = mapping.latest_change(summary)
            order_id = str(summary["orderId"])
            # bol.com's times have whole seconds: an order changed in the watermark's second
            # may come after the poll that set it, so only the ids taken then are skipped.
            since, seen = state.since, state.seen
            if (
                since is not None
                and changed is not None
                and (changed < since or (changed == since and order_id in seen))
            ):
                continue
            orders.append(await self._order(order_id))
            if changed is not None and (high is None or changed > high):
                high, at_high = changed, {order_id}
            elif changed is not None and changed == high:
                at_high.add(order_id)
        if len(reduced) >= self.settings.order_page_size:
            next_state = _OrderCursor(state.since, state.page + 1, high, state.seen, at_high)
        elif high is None or high == state.since:
            next_state = _OrderCursor(state.since, 1, None, state.seen | at_high)
        else:
            next_state = _OrderCursor(high, 1, None, frozenset(at_high))
        return OrderPage(orders=tuple(orders), cursor=next_state.dump())

    async def _order(self, order_id: str) -> ChannelOrder:
        response = await self.client.request("GET", f"/retailer/orders/{order_id}", version="v10")
        return mapping.order_from_bol(response.json())

    async def push_fulfilment(self, fulfilment: Fulfilment) -> Accepted:
        """Ship what the hub shipped and bol.com has not: the hub sends each line's shipped
        total, bol.com's order items say what is already shipped, so a repeat sends nothing
        (and a second shipment of a line sends only its new units)."""
        order_id = fulfilment.external_order_id
        if self.settings.fulfilment_method == "FBB":
            raise PermanentError("bol.com ships its own FBB orders: nothing to send")
        if not fulfilment.lines:
            raise PermanentError(f"order {order_id}: no lines to ship")
        line_ids = [line.external_line_id for line in fulfilment.lines]
        await self._wait_for_processes("CREATE_SHIPMENT", line_ids)
        items = await self._order_items(order_id)
        missing: list[FulfilmentLine] = []
        for line in fulfilment.lines:
            item = _item(items, order_id, line.external_line_id, line.sku)
            to_ship = line.quantity - int(item.get("quantityShipped") or 0)
            if to_ship <= 0:
                continue
            if to_ship > _open_quantity(item):
                raise PermanentError(
                    f"bol.com order {order_id}, item {line.external_line_id} ({line.sku}): the "
                    f"hub shipped {line.quantity}, bol.com has {item.get('quantityShipped')} "
                    f"shipped and {_open_quantity(item)} open"
                )
            missing.append(replace(line, quantity=to_ship))
        if not missing:
            return Accepted(detail=f"order {order_id}: already shipped at bol.com")
        body = mapping.shipment_body(replace(fulfilment, lines=tuple(missing)))
        response = await self.client.request(
            "POST", "/retailer/shipments", version="v10", json=body
        )
        expected = _Expected(
            "ship", order_id, {ln.external_line_id: ln.quantity for ln in fulfilment.lines}
        )
        return _pending([response.json()], f"shipment of order {order_id}", expected)

    async def push_cancellation(self, cancellation: Cancellation) -> Accepted:
        """Cancel the order items that are still open at bol.com (a repeat finds none)."""
        order_id = cancellation.external_order_id
        await self._wait_for_processes("CANCEL_ORDER", cancellation.external_line_ids)
        items = await self._order_items(order_id)
        still_open = tuple(
            line_id
            for line_id in cancellation.external_line_ids
            if _open_quantity(_item(items, order_id, line_id, "")) > 0
        )
        if not still_open:
            return Accepted(detail=f"order {order_id}: nothing open to cancel at bol.com")
        statuses = []
        for body in mapping.cancellation_bodies(
            replace(cancellation, external_line_ids=still_open)
        ):
            response = await self.client.request(
                "PUT", "/retailer/orders/cancellation", version="v10", json=body
            )
            statuses.append(response.json())
        expected = _Expected("cancel", order_id, dict.fromkeys(still_open, 0))
        return _pending(statuses, f"cancellation in order {order_id}", expected)

    async def _wait_for_processes(self, event_type: str, item_ids: Sequence[str]) -> None:
        """Raise a TransientError while bol.com still processes an earlier shipment or
        cancellation of these order items (a request whose answer was lost, say): only once
        it is done do the order's quantities say what is left to send."""
        for item_id in item_ids:
            response = await self.client.request(
                "GET",
                "/shared/process-status",
                version="v10",
                params={"entity-id": item_id, "event-type": event_type},
            )
            for status in response.json().get("processStatuses", []):
                if status.get("status") == "PENDING":
                    raise TransientError(
                        f"bol.com is still processing {event_type} {status.get('processStatusId')}"
                        f" of order item {item_id}: waiting for its outcome before sending more",
                        retry_after=WAIT_FOR_PROCESS_SECONDS,
                    )

    async def _order_items(self, order_id: str) -> dict[str, dict[str, Any]]:
        """The order's items at bol.com by order item id, with their shipped, cancelled and
        ordered quantities."""
        response = await self.client.request("GET", f"/retailer/orders/{order_id}", version="v10")
        return {
            str(item.get("orderItemId")): item for item in response.json().get("orderItems", [])
        }

    async def check_pending(self, pending: str) -> Accepted:
        """Follow process statuses: still PENDING, all SUCCESS, or FAILURE/TIMEOUT as an error,
        unless bol.com's order shows the work done all the same (the same shipment or
        cancellation sent twice: the second one fails with "no 1 open to ship")."""
        if not pending.startswith(PENDING_PREFIX):
            raise PermanentError(f"not a bol.com process status reference: {pending!r}")
        ids, _, expectation = pending.removeprefix(PENDING_PREFIX).partition(_EXPECTED_SEPARATOR)
        expected = _Expected.parse(expectation)
        waiting: list[str] = []
        done: list[str] = []
        for status_id in filter(None, ids.split(",")):
            response = await self.client.request(
                "GET", f"/shared/process-status/{status_id}", version="v10"
            )
            status = response.json()
            outcome = status.get("status")
            if outcome == "PENDING":
                waiting.append(status_id)
            elif outcome == "SUCCESS":
                done.append(f"{status.get('eventType')} {status.get('entityId')}")
            else:
                reason = status.get("errorMessage") or status.get("description") or "no reason"
                if expected is not None and expected.met(
                    await self._order_items(expected.order_id)
                ):
                    done.append(
                        f"{status.get('eventType')} {status.get('entityId')} (already done)"
                    )
                    continue
                raise PermanentError(
                    f"bol.com process {status_id} ({status.get('eventType')} "
                    f"{status.get('entityId')}) ended {outcome}: {reason}"
                )
        if waiting:
            tail = _EXPECTED_SEPARATOR + expected.dump() if expected is not None else ""
            return Accepted(pending=PENDING_PREFIX + ",".join(waiting) + tail)
        return Accepted(detail="bol.com confirmed " + ", ".join(done))


_EXPECTED_SEPARATOR = "|"


@dataclass(frozen=True)
class _Expected:
    """What bol.com's order must show once a shipment or cancellation took effect: for
    ``ship``, each item's shipped total; for ``cancel``, nothing left open. Carried in the
    pending reference so a FAILURE can be checked against the order."""

    action: str
    order_id: str
    quantities: dict[str, int]

    def met(self, items: Mapping[str, Mapping[str, Any]]) -> bool:
        for item_id, quantity in self.quantities.items():
            item = items.get(item_id)
            if item is None:
                return False
            if self.action == "ship" and int(item.get("quantityShipped") or 0) < quantity:
                return False
            if self.action == "cancel" and (
                _open_quantity(item) > 0 or not int(item.get("quantityCancelled") or 0)
            ):
                return False
        return True

    def dump(self) -> str:
        lines = ",".join(f"{item}={quantity}" for item, quantity in self.quantities.items())
        return f"{self.action}:{self.order_id}:{lines}"

    @classmethod
    def parse(cls, text: str) -> _Expected | None:
        action, _, rest = text.partition(":")
        order_id, _, lines = rest.partition(":")
        if action not in ("ship", "cancel") or not order_id:
            return None
        quantities: dict[str, int] = {}
        for part in filter(None, lines.split(",")):
            item, _, quantity = part.partition("=")
            quantities[item] = int(quantity or 0)
        return cls(action, order_id, quantities)


def _open_quantity(item: Mapping[str, Any]) -> int:
    return (
        int(item.get("quantity") or 0)
        - int(item.get("quantityShipped") or 0)
        - int(item.get("quantityCancelled") or 0)
    )


def _item(
    items: Mapping[str, dict[str, Any]], order_id: str, item_id: str, sku: str
) -> dict[str, Any]:
    item = items.get(item_id)
    if item is None:
        named = f" ({sku})" if sku else ""
        raise PermanentError(f"bol.com order {order_id} has no order item {item_id}{named}")
    return item


class _OrderCursor:
    """Where order polling stands: the change watermark and the orders already taken at it, the
    page, and the newest change seen while paging (with the orders taken at that moment)."""

    def __init__(
        self,
        since: datetime | None,
        page: int,
        high: datetime | None,
        seen: frozenset[str] = frozenset(),
        at_high: Iterable[str] = (),
    ) -> None:
        self.since, self.page, self.high = since, page, high
        self.seen, self.at_high = seen, frozenset(at_high)

    @classmethod
    def parse(cls, cursor: str | None) -> _OrderCursor:
        if not cursor:
            return cls(None, 1, None)
        try:
            data = json.loads(cursor)
            return cls(
                mapping.parse_time(data.get("since")),
                max(1, int(data.get("page", 1))),
                mapping.parse_time(data.get("high")),
                frozenset(str(order) for order in data.get("seen", ())),
                (str(order) for order in data.get("at_high", ())),
            )
        except (ValueError, TypeError, AttributeError):
            return cls(None, 1, None)  # an unreadable cursor: start over, imports are idempotent

    def dump(self) -> str:
        return json.dumps(
            {
                "since": self.since.isoformat() if self.since else None,
                "page": self.page,
                "high": self.high.isoformat() if self.high else None,
                "seen": sorted(self.seen),
                "at_high": sorted(self.at_high),
            }
        )


def _pending(statuses: list[dict[str, Any]], what: str, expected: _Expected) -> Accepted:
    ids = [str(status["processStatusId"]) for status in statuses if status.get("processStatusId")]
    if not ids:
        return Accepted(detail=f"{what} accepted by bol.com")
    reference = PENDING_PREFIX + ",".join(ids) + _EXPECTED_SEPARATOR + expected.dump()
    return Accepted(pending=reference, detail=f"{what} accepted by bol.com")


def _valid_ean(listing: Listing) -> str:
    code = (listing.gtin or "").strip()
    if not code:
        raise PermanentError(f"SKU {listing.sku} has no EAN: bol.com lists offers by EAN")
    if not ean_check.is_valid(code):
        raise PermanentError(f"SKU {listing.sku}: {code!r} is not a valid EAN (check digit)")
    return code


def _listing_price(listing: Listing) -> Decimal | None:
    if listing.price is not None:
        _check_price(listing.price)
        return listing.price.amount
    raw = listing.attributes.get("price")
    if raw is None:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise PermanentError(f"SKU {listing.sku}: price {raw!r} is not a number") from None


def _check_price(price: ChannelPrice) -> None:
    if price.currency != mapping.CURRENCY:
        raise PermanentError(f"SKU {price.sku}: bol.com sells in EUR only, not {price.currency}")
    if not Decimal(1) <= price.amount <= Decimal(9999):
        raise PermanentError(
            f"SKU {price.sku}: bol.com accepts unit prices from 1 to 9999 EUR, not {price.amount}"
        )


def _raise_if_missing(skus: list[str], what: str) -> None:
    if skus:
        raise TransientError(
            f"no bol.com offer yet for SKU {', '.join(skus)}: the {what} is kept and sent "
            "with the offer once its listing is pushed",
            retry_after=WAIT_FOR_OFFER_SECONDS,
        )
