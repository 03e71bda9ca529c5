"""The Square connector (Square-Version 2025-08-20): Catalog for listings and prices, Inventory
for stock, Orders search for the sales rung up on Square Point of Sale, signed webhooks.

Square keys catalog objects by its own ids; the hub's SKU is the variation's ``sku``. We find
variations by SKU with a catalog search (``set_query`` on ``sku``) and remember where each SKU
lives; new items are created with ``#temp`` ids that Square maps to real ids in its answer.
Every write carries an idempotency key derived from its content, and stock is an absolute
PHYSICAL_COUNT, so a delivery that runs twice does no harm.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from channelhub.connectors.base import (
    Accepted,
    Capability,
    ChannelOrder,
    ChannelPrice,
    Connector,
    ConnectorConfig,
    Listing,
    OrderPage,
    PermanentError,
    RateLimit,
    StockLevel,
    TransientError,
    WebhookMessage,
)
from channelhub.connectors.square import mapping
from channelhub.connectors.square.client import SQUARE_VERSION, SquareClient
from channelhub.connectors.square.config import SquareConfig
from channelhub.connectors.square.mapping import VariationRef

SEARCH_VALUES = 250  # the most values one catalog set_query may name
RETRIEVE_IDS = 1000
COUNT_CHANGES = 100  # the most changes one inventory batch-create takes
SIGNATURE_HEADER = "x-square-hmacsha256-signature"


class SquareConnector(Connector):
    """Square: catalog items, inventory counts per location, orders from Square POS."""

    platform: ClassVar[str] = "square"
    api_version: ClassVar[str] = f"Square-Version {SQUARE_VERSION}"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.PUSH_LISTINGS,
            Capability.PUSH_STOCK,
            Capability.PUSH_PRICES,
            Capability.PULL_ORDERS,
            Capability.RECEIVE_WEBHOOKS,
            Capability.READ_STOCK,
            Capability.READ_PRICES,
        }
    )
    config_model: ClassVar[type[ConnectorConfig]] = SquareConfig
    # Square publishes no fixed figure: it answers 429 RATE_LIMITED when an access token sends
    # too much. Stay modest and let the engine slow down further on a 429.
    rate_limit: ClassVar[RateLimit] = RateLimit(rate=10, burst=20)
    max_batch: ClassVar[int] = 100

    def __init__(self, config: ConnectorConfig, http: httpx.AsyncClient) -> None:
        super().__init__(config, http)
        if not isinstance(config, SquareConfig):
            raise TypeError("SquareConnector needs a SquareConfig")
        self.settings = config
        self.client = SquareClient(http, config.api_url, config.access_token.get_secret_value())
        self._refs: dict[str, VariationRef] = {}  # by SKU
        self._variations: dict[str, dict[str, Any]] = {}  # by SKU: the object last seen
        self._skus: dict[str, str] = {}  # variation id -> SKU

    # --- connection ------------------------------------------------------------------------

    async def test_connection(self) -> str:
        data = await self.client.request("GET", "/v2/locations")
        found = {str(loc.get("id")): loc for loc in data.get("locations") or []}
        missing = [
            f"{square_id} (for hub location {code})"
            for code, square_id in self.settings.locations.items()
            if square_id not in found
        ]
        if missing:
            have = ", ".join(f"{i} ({loc.get('name', '')})" for i, loc in sorted(found.items()))
            raise PermanentError(
                f"Square locations not in this account: {', '.join(missing)}; it has: {have}"
            )
        mapped = ", ".join(
            f"{code} -> {square_id} ({found[square_id].get('name', '')})"
            for code, square_id in self.settings.locations.items()
        )
        return f"Square account reached ({len(found)} locations); mapped: {mapped}"

    # --- finding SKUs in the catalog -------------------------------------------------------

    async def _find(self, skus: Sequence[str]) -> None:
        """Read the variations (and their items' versions) of ``skus`` from the catalog."""
        wanted = sorted(set(skus))
        for start in range(0, len(wanted), SEARCH_VALUES):
            chunk = wanted[start : start + SEARCH_VALUES]
            cursor: str | None = None
            while True:
                body: dict[str, Any] = {
                    "object_types": ["ITEM_VARIATION"],
                    "query": {"set_query": {"attribute_name": "sku", "attribute_values": chunk}},
                    "include_related_objects": True,
                    "limit": 1000,
                }
                if cursor:
                    body["cursor"] = cursor
                data = await self.client.request("POST", "/v2/catalog/search", body)
                items = {str(o.get("id")): o for o in data.get("related_objects") or []}
                for variation in data.get("objects") or []:
                    self._remember(variation, items)
                cursor = data.get("cursor")
                if not cursor:
                    break

    def _remember(self, variation: Mapping[str, Any], items: Mapping[str, Any]) -> None:
        data = variation.get("item_variation_data") or {}
        sku = data.get("sku")
        if not sku or variation.get("is_deleted"):
            return
        item_id = str(data.get("item_id") or "")
        item = items.get(item_id) or {}
        self._refs[str(sku)] = VariationRef(
            item_id, item.get("version"), str(variation["id"]), variation.get("version")
        )
        self._variations[str(sku)] = dict(variation)
        self._skus[str(variation["id"])] = str(sku)

    async def _refs_for(self, skus: Sequence[str], fresh: bool = False) -> dict[str, VariationRef]:
        missing = list(skus) if fresh else [sku for sku in skus if sku not in self._refs]
        if missing:
            await self._find(missing)
        absent = sorted({sku for sku in skus if sku not in self._refs})
        if absent:
            # Retryable: the listing may be on its way in a parallel job; the engine gives up
            # (dead letter, with this message) if it never arrives.
            raise TransientError(
                "no Square item variation has these SKUs (push their listings first): "
                + ", ".join(absent),
                retry_after=2.0,
            )
        return {sku: self._refs[sku] for sku in skus}

    # --- catalog ---------------------------------------------------------------------------

    async def push_listings(self, listings: Sequence[Listing]) -> Accepted:
        """One ITEM with one ITEM_VARIATION per SKU, in one batch upsert: known SKUs are
        updated in place (with the versions just read), new ones created from ``#temp`` ids."""
        latest = {listing.sku: listing for listing in listings}
        await self._find(list(latest))
        objects = [mapping.catalog_item(lst, self._refs.get(sku)) for sku, lst in latest.items()]
        await self._upsert(objects)
        return Accepted(detail=f"{len(objects)} Square item(s) upserted")

    async def push_prices(self, prices: Sequence[ChannelPrice]) -> Accepted:
        """Each variation read back and upserted whole with its new ``price_money`` (an upsert
        replaces the object)."""
        latest = {price.sku: price for price in prices}
        await self._refs_for(list(latest), fresh=True)
        objects = [mapping.priced_variation(self._variations[sku], p) for sku, p in latest.items()]
        await self._upsert(objects)
        return Accepted(detail=f"{len(objects)} Square price(s) set")

    async def _upsert(self, objects: list[dict[str, Any]]) -> None:
        batches = [{"objects": objects}]
        body = {"idempotency_key": mapping.idempotency_key("catalog", batches), "batches": batches}
        data = await self.client.request("POST", "/v2/catalog/batch-upsert", body)
        items = {str(o["id"]): o for o in data.get("objects") or [] if o.get("type") == "ITEM"}
        for obj in data.get("objects") or []:
            if obj.get("type") == "ITEM":
                for variation in (obj.get("item_data") or {}).get("variations") or []:
                    self._remember(variation, items)
            elif obj.get("type") == "ITEM_VARIATION":
                self._remember(obj, items)
        # An item listed only by its variation keeps the version we had; forget it so the next
        # write reads it again rather than sending a stale one.
        for sku, ref in list(self._refs.items()):
            if ref.item_id not in items and any(
                o.get("id") == ref.variation_id for o in data.get("objects") or []
            ):
                self._refs[sku] = VariationRef(ref.item_id, None, ref.variation_id, None)

    async def read_prices(self, skus: Sequence[str]) -> dict[str, Decimal]:
        await self._find(skus)
        found: dict[str, Decimal] = {}
        for sku in skus:
            data = (self._variations.get(sku) or {}).get("item_variation_data") or {}
            money = data.get("price_money")
            if money:
                found[sku] = mapping.from_money(money, str(money.get("currency") or "USD"))
        return found

    # --- inventory -------------------------------------------------------------------------

    async def push_stock(self, levels: Sequence[StockLevel]) -> Accepted:
        """The channel's available quantity of each SKU as a PHYSICAL_COUNT at every mapped
        Square location, in batches of 100 changes."""
        latest = {level.sku: level.quantity for level in levels}
        refs = await self._refs_for(list(latest))
        now = datetime.now(UTC)
        changes = [
            mapping.physical_count(refs[sku].variation_id, square_id, quantity, now)
            for sku, quantity in latest.items()
            for square_id in self.settings.locations.values()
        ]
        for start in range(0, len(changes), COUNT_CHANGES):
            chunk = changes[start : start + COUNT_CHANGES]
            body = {
                "idempotency_key": mapping.idempotency_key("counts", chunk),
                "changes": chunk,
                "ignore_unchanged_counts": True,
            }
            await self.client.request("POST", "/v2/inventory/changes/batch-create", body)
        return Accepted(detail=f"{len(changes)} Square count(s) set")

    async def read_stock(self, skus: Sequence[str]) -> dict[str, int]:
        """The IN_STOCK count of each SKU at the first mapped Square location."""
        refs = await self._refs_for(list(skus))
        first = next(iter(self.settings.locations.values()))
        by_variation = {ref.variation_id: sku for sku, ref in refs.items()}
        found: dict[str, int] = dict.fromkeys(skus, 0)
        cursor: str | None = None
        while True:
            body: dict[str, Any] = {
                "catalog_object_ids": sorted(by_variation),
                "location_ids": [first],
                "states": ["IN_STOCK"],
            }
            if cursor:
                body["cursor"] = cursor
            data = await self.client.request("POST", "/v2/inventory/counts/batch-retrieve", body)
            for count in data.get("counts") or []:
                sku = by_variation.get(str(count.get("catalog_object_id")))
                if sku is not None and count.get("state", "IN_STOCK") == "IN_STOCK":
                    found[sku] = int(Decimal(str(count.get("quantity", "0"))))
            cursor = data.get("cursor")
            if not cursor:
                return found

    # --- orders ----------------------------------------------------------------------------

    async def fetch_orders(self, cursor: str | None) -> OrderPage:
        """Orders of the mapped locations in the configured states, by ``updated_at`` (oldest
        first), one page per call. The cursor keeps the watermark, the ids already reported at
        it (the filter is inclusive), and Square's page cursor mid-run."""
        state = _OrderCursor.load(cursor, self.settings.import_orders_since)
        square_filter: dict[str, Any] = {
            "state_filter": {"states": list(self.settings.order_states)}
        }
        if state.since:
            square_filter["date_time_filter"] = {"updated_at": {"start_at": state.since}}
        body: dict[str, Any] = {
            "location_ids": list(self.settings.locations.values()),
            "query": {
                "filter": square_filter,
                "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
            },
            "limit": self.settings.order_page_size,
        }
        if state.page:
            body["cursor"] = state.page
        data = await self.client.request("POST", "/v2/orders/search", body)
        found = [o for o in data.get("orders") or [] if isinstance(o, dict) and o.get("id")]
        await self._learn_skus(found)
        hub_location = {square: code for code, square in self.settings.locations.items()}
        orders: list[ChannelOrder] = []
        for order in found:
            updated = str(order.get("updated_at") or "")
            if updated == state.since and str(order["id"]) in state.seen:
                continue
            mapped = mapping.channel_order(
                order, self._skus, hub_location.get(str(order.get("location_id"))), "USD"
            )
            if mapped is not None:
                orders.append(mapped)
            state.note(updated, str(order["id"]))
        return OrderPage(orders=tuple(orders), cursor=state.advance(data.get("cursor")))

    async def _learn_skus(self, orders: Sequence[Mapping[str, Any]]) -> None:
        """The SKUs of the variations these orders' line items name (read once each)."""
        unknown = sorted(
            {
                str(item["catalog_object_id"])
                for order in orders
                for item in order.get("line_items") or []
                if item.get("catalog_object_id")
                and str(item["catalog_object_id"]) not in self._skus
            }
        )
        for start in range(0, len(unknown), RETRIEVE_IDS):
            body = {"object_ids": unknown[start : start + RETRIEVE_IDS]}
            data = await self.client.request("POST", "/v2/catalog/batch-retrieve", body)
            for obj in data.get("objects") or []:
                sku = (obj.get("item_variation_data") or {}).get("sku")
                if obj.get("type") == "ITEM_VARIATION" and sku:
                    self._skus[str(obj["id"])] = str(sku)

    # --- webhooks --------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """base64(HMAC-SHA256(signature key, notification URL + raw body)) must equal the
        ``x-square-hmacsha256-signature`` header."""
        key, url = self.settings.webhook_signature_key, self.settings.webhook_url
        if key is None or url is None:
            return False
        given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
        if not given:
            return False
        digest = hmac.new(
            key.get_secret_value().encode(), url.encode() + body, hashlib.sha256
        ).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), given.strip())

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookMessage:
        """``order.created`` and ``order.updated`` carry a reference only: they make the next
        order poll run at once. Other events are kept and ignored."""
        event = json.loads(body)
        if not isinstance(event, dict):
            raise ValueError("a Square event is a JSON object")
        kind = str(event.get("type") or "")
        data = event.get("data") or {}
        topic = "orders" if kind.startswith("order.") else kind or "unknown"
        return WebhookMessage(
            event_id=str(event.get("event_id") or ""),
            topic=topic,
            entity=str(data.get("id")) if data.get("id") else None,
        )


class _OrderCursor:
    """The poll's position: the ``updated_at`` watermark, the order ids seen at it, and
    Square's page cursor while a search is mid-way (plus the newest time seen in it)."""

    def __init__(
        self,
        since: str | None,
        seen: list[str],
        page: str | None,
        newest: str | None,
        newest_seen: list[str],
    ) -> None:
        self.since, self.seen, self.page = since, seen, page
        self.newest, self.newest_seen = newest, newest_seen

    @classmethod
    def load(cls, raw: str | None, start: str | None) -> _OrderCursor:
        if not raw:
            return cls(start, [], None, None, [])
        try:
            data = json.loads(raw)
            return cls(
                data.get("since"),
                list(data.get("seen") or []),
                data.get("page"),
                data.get("newest"),
                list(data.get("newest_seen") or []),
            )
        except (ValueError, AttributeError):
            return cls(start, [], None, None, [])

    def note(self, updated: str, order_id: str) -> None:
        moment, newest = mapping.parse_time(updated), mapping.parse_time(self.newest)
        if moment is None:
            return
        if newest is None or moment > newest:
            self.newest, self.newest_seen = updated, [order_id]
        elif updated == self.newest:
            self.newest_seen.append(order_id)

    def advance(self, page: str | None) -> str:
        if page:
            self.page = page
        else:
            if self.newest is not None:
                if self.newest == self.since:
                    self.seen = sorted(set(self.seen) | set(self.newest_seen))
                else:
                    self.since, self.seen = self.newest, sorted(set(self.newest_seen))
            self.page, self.newest, self.newest_seen = None, None, []
        return json.dumps(
            {
                "since": self.since,
                "seen": self.seen[-500:],
                "page": self.page,
                "newest": self.newest,
                "newest_seen": self.newest_seen[-500:],
            }
        )
