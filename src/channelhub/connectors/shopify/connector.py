"""The Shopify connector: Admin GraphQL API 2026-01 for products, stock, prices, orders and
fulfilments; HMAC-signed order webhooks.

It keeps no database state: SKU to Shopify ID lookups go through the ``productVariants``
query and are cached in memory for the life of the instance; the order cursor is handed back
to the engine inside ``OrderPage``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr, field_validator

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
    PermanentError,
    RateLimit,
    StockLevel,
    TransientError,
    WebhookMessage,
)
from channelhub.connectors.shopify import queries
from channelhub.connectors.shopify.client import (
    API_VERSION,
    ShopifyGraphQL,
    ThrottleStatus,
    raise_for_user_errors,
    user_errors_message,
)
from channelhub.connectors.shopify.mapping import (
    group_listings,
    order_from_graphql,
    order_from_webhook,
    product_set_input,
)
from channelhub.connectors.shopify.webhooks import ORDER_TOPICS, header, is_signed_by_any

LOOKUP_CHUNK = 50  # SKUs per productVariants search (keeps the requested cost near 200)
MAX_QUANTITIES = 250  # input arrays are limited to 250 items (shopify.dev rate limits page)
ORDERS_PAGE = 5  # orders per poll page: 5 orders x 20 lines stays under 1,000 points
MAX_SKIPPED_PAGES = 5
STOCK_REASON = "correction"
OPEN_FULFILLMENT_ORDER = frozenset({"OPEN", "IN_PROGRESS"})


class ShopifyConfig(ConnectorConfig):
    """A custom app installed on one shop: its Admin API access token and client secret."""

    shop: str  # "my-store" or "my-store.myshopify.com"
    access_token: SecretStr  # shpat_...
    client_secret: SecretStr  # signs webhooks
    previous_client_secret: SecretStr | None = None  # still accepted during a rotation
    location_id: str | None = None  # gid://shopify/Location/...; default: first online one
    endpoint: str | None = None  # base URL override (the sandbox); default the shop's domain
    import_orders_since: datetime | None = None  # first poll starts here (default: all)

    @field_validator("shop")
    @classmethod
    def _shop_name(cls, value: str) -> str:
        name = value.strip().lower().removeprefix("https://").removesuffix("/")
        name = name.removesuffix(".myshopify.com")
        if not name or not all(c.isalnum() or c == "-" for c in name):
            raise ValueError("shop must be the store's myshopify name, e.g. 'my-store'")
        return name


@dataclass(frozen=True)
class VariantRef:
    """Where one SKU lives in Shopify."""

    variant_id: str
    product_id: str
    inventory_item_id: str


@dataclass(frozen=True)
class _Found:
    ref: VariantRef
    price: Decimal
    available: int | None  # None when not stocked at the location


class ShopifyConnector(Connector):
    platform: ClassVar[str] = "shopify"
    api_version: ClassVar[str] = API_VERSION
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.PUSH_LISTINGS,
            Capability.PUSH_STOCK,
            Capability.PUSH_PRICES,
            Capability.PULL_ORDERS,
            Capability.RECEIVE_WEBHOOKS,
            Capability.PUSH_FULFILMENTS,
            Capability.READ_STOCK,
            Capability.READ_PRICES,
        }
    )
    config_model: ClassVar[type[ConnectorConfig]] = ShopifyConfig
    # Standard plan: 100 points/s restore (shopify.dev, GraphQL Admin API rate limits); a
    # mutation costs about 10-15 points, so ~6 calls/s sustained; the cost bucket absorbs
    # bursts. The engine should also read ``throttle`` (the bucket after the last call).
    rate_limit: ClassVar[RateLimit] = RateLimit(rate=6, burst=40)
    max_batch: ClassVar[int] = 100
    models: ClassVar[ModelListing] = ModelListing.WITH_VARIANTS

    def __init__(self, config: ConnectorConfig, http: httpx.AsyncClient) -> None:
        if not isinstance(config, ShopifyConfig):
            raise TypeError("ShopifyConnector needs a ShopifyConfig")
        super().__init__(config, http)
        self.settings = config
        base = config.endpoint or f"https://{config.shop}.myshopify.com"
        self.graphql = ShopifyGraphQL(
            http,
            f"{base.rstrip('/')}/admin/api/{API_VERSION}/graphql.json",
            config.access_token.get_secret_value(),
        )
        self._refs: dict[str, VariantRef] = {}
        self._known_available: dict[str, int] = {}  # inventory item id -> last seen quantity
        self._location_id: str | None = config.location_id
        self._currency: str | None = None

    @property
    def throttle(self) -> ThrottleStatus | None:
        """The shop's cost bucket as of the last answer (for the engine's pacing)."""
        cost = self.graphql.last_cost
        return cost.throttle if cost else None

    # --- connection ------------------------------------------------------------------------

    async def test_connection(self) -> str:
        data = await self.graphql.execute(queries.SHOP)
        shop = data["shop"]
        self._currency = shop["currencyCode"]
        location = await self._location()
        return (
            f"{shop['name']} ({shop['myshopifyDomain']}), {shop['plan']['displayName']} plan, "
            f"prices in {shop['currencyCode']}, stock at {location}"
        )

    async def _location(self) -> str:
        if self._location_id is None:
            data = await self.graphql.execute(queries.LOCATIONS)
            nodes = [n for n in data["locations"]["nodes"] if n.get("isActive", True)]
            online = [n for n in nodes if n.get("fulfillsOnlineOrders")]
            if not (online or nodes):
                raise PermanentError("the shop has no active location to hold stock")
            self._location_id = str((online or nodes)[0]["id"])
        return self._location_id

    async def _shop_currency(self) -> str:
        if self._currency is None:
            data = await self.graphql.execute(queries.SHOP)
            self._currency = str(data["shop"]["currencyCode"])
        return self._currency

    # --- SKU lookups -----------------------------------------------------------------------

    async def _find(self, skus: Sequence[str]) -> dict[str, _Found]:
        """The variants holding ``skus`` (exact matches), read from Shopify now."""
        location = await self._location()
        found: dict[str, _Found] = {}
        duplicates: set[str] = set()
        unique = list(dict.fromkeys(skus))
        for start in range(0, len(unique), LOOKUP_CHUNK):
            chunk = unique[start : start + LOOKUP_CHUNK]
            search = " OR ".join(f'sku:"{_quoted(sku)}"' for sku in chunk)
            data = await self.graphql.execute(
                queries.VARIANTS_BY_SKU,
                {"query": search, "first": min(250, 2 * len(chunk)), "locationId": location},
            )
            wanted = set(chunk)
            for node in data["productVariants"]["nodes"]:
                sku = node.get("sku")
                if sku not in wanted:
                    continue  # Shopify's search is not an exact match
                if sku in found:
                    duplicates.add(sku)
                level = node["inventoryItem"].get("inventoryLevel")
                available = None
                if level is not None:
                    available = next((q["quantity"] for q in level["quantities"]), None)
                ref = VariantRef(node["id"], node["product"]["id"], node["inventoryItem"]["id"])
                found[sku] = _Found(ref, Decimal(str(node["price"])), available)
        if duplicates:
            raise PermanentError(
                "these SKUs are on more than one Shopify variant, so the hub cannot tell which "
                f"to update: {', '.join(sorted(duplicates))}"
            )
        for sku, entry in found.items():
            self._refs[sku] = entry.ref
            if entry.available is not None:
                self._known_available[entry.ref.inventory_item_id] = entry.available
        return found

    async def _refs_for(self, skus: Sequence[str]) -> dict[str, VariantRef]:
        missing = [sku for sku in skus if sku not in self._refs]
        if missing:
            await self._find(missing)
        absent = [sku for sku in skus if sku not in self._refs]
        if absent:
            # Retryable: the listing may be on its way in a parallel job; the engine gives up
            # (dead letter, with this message) if it never arrives.
            raise TransientError(
                "no Shopify variant has these SKUs (push their listings first): "
                + ", ".join(sorted(set(absent))),
                retry_after=2.0,
            )
        return {sku: self._refs[sku] for sku in skus}

    # --- listings --------------------------------------------------------------------------

    async def push_listings(self, listings: Sequence[Listing]) -> Accepted:
        """One ``productSet`` per product, found by handle, so a repeat updates in place. A
        model comes with all of its variants (``models = WITH_VARIANTS``): productSet replaces
        the product's variant list, so sending one variant alone would delete its siblings."""
        groups = group_listings(listings)
        priced = any(v.price is not None for group in groups for v in group.variants)
        currency = await self._shop_currency() if priced else None
        handles = []
        for group in groups:
            data = await self.graphql.execute(
                queries.PRODUCT_SET,
                {
                    "identifier": {"handle": group.handle},
                    "input": product_set_input(group, currency),
                },
            )
            payload = data["productSet"]
            raise_for_user_errors("productSet", payload)
            product = payload["product"]
            for node in product["variants"]["nodes"]:
                if node.get("sku"):
                    self._refs[node["sku"]] = VariantRef(
                        node["id"], product["id"], node["inventoryItem"]["id"]
                    )
            handles.append(product["handle"])
        return Accepted(detail=f"set {len(handles)} product(s): {', '.join(handles)}")

    # --- stock -----------------------------------------------------------------------------

    async def push_stock(
        self, levels: Sequence[StockLevel], *, idempotency_key: str | None = None
    ) -> Accepted:
        """Absolute ``available`` quantities with ``inventorySetQuantities``, compared against
        the last quantity this connector read or set (``changeFromQuantity``; read first when
        it has none, and explicitly not compared, null, only when Shopify reports none). A
        stale compare raises TransientError after forgetting the value, so the retry re-reads.
        ``idempotency_key`` (the engine's task id when it has one) goes in ``@idempotent``; a
        fresh one is made otherwise.

        2026-01 deprecates ``compareQuantity``/``ignoreCompareQuantity`` for
        ``changeFromQuantity`` (removed in 2026-04), so this uses ``changeFromQuantity``.
        """
        latest = {level.sku: level.quantity for level in levels}  # last one wins
        cached = set(self._refs)  # SKUs not in here are read (with their stock) just below
        refs = await self._refs_for(list(latest))
        unread = [
            sku
            for sku in latest
            if sku in cached and refs[sku].inventory_item_id not in self._known_available
        ]
        if unread:
            await self._find(unread)  # read the current quantities to compare against
        location = await self._location()
        skus = list(latest)
        for start in range(0, len(skus), MAX_QUANTITIES):
            chunk = skus[start : start + MAX_QUANTITIES]
            quantities: list[dict[str, Any]] = []
            for sku in chunk:
                item = refs[sku].inventory_item_id
                quantities.append(
                    {
                        "inventoryItemId": item,
                        "locationId": location,
                        "quantity": latest[sku],
                        "changeFromQuantity": self._known_available.get(item),
                    }
                )
            key = idempotency_key or str(uuid.uuid4())
            if len(skus) > MAX_QUANTITIES:
                key = f"{key}:{start // MAX_QUANTITIES}"
            data = await self.graphql.execute(
                queries.INVENTORY_SET_QUANTITIES,
                {
                    "input": {
                        "name": "available",
                        "reason": STOCK_REASON,
                        "referenceDocumentUri": "gid://channelhub/StockSync/"
                        + hashlib.sha256(key.encode()).hexdigest()[:16],
                        "quantities": quantities,
                    },
                    "key": key,
                },
            )
            payload = data["inventorySetQuantities"]
            errors = payload.get("userErrors") or []
            if any(
                e.get("code") in ("CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE")
                for e in errors
            ):
                for entry in quantities:
                    self._known_available.pop(str(entry["inventoryItemId"]), None)
                raise TransientError(
                    user_errors_message("inventorySetQuantities", errors)
                    + " (the quantity changed in Shopify since it was last read; the retry "
                    "reads it again)",
                    retry_after=1.0,
                )
            if any(e.get("code") == "ITEM_NOT_STOCKED_AT_LOCATION" for e in errors):
                raise PermanentError(
                    user_errors_message("inventorySetQuantities", errors)
                    + f" (stock the variant at location {location} in Shopify, or configure "
                    "another location_id)"
                )
            raise_for_user_errors("inventorySetQuantities", payload)
            for entry in quantities:
                self._known_available[str(entry["inventoryItemId"])] = int(entry["quantity"])
        return Accepted(detail=f"set available stock of {len(skus)} SKU(s) at {location}")

    async def read_stock(self, skus: Sequence[str]) -> dict[str, int]:
        """Available quantities at the configured location, read now; SKUs not in Shopify or
        not stocked there are left out."""
        found = await self._find(skus)
        return {sku: e.available for sku, e in found.items() if e.available is not None}

    # --- prices ----------------------------------------------------------------------------

    async def push_prices(self, prices: Sequence[ChannelPrice]) -> Accepted:
        """``productVariantsBulkUpdate``, one call per product; prices are in the shop's
        currency, so a price in another currency is refused."""
        currency = await self._shop_currency()
        wrong = sorted({p.sku for p in prices if p.currency.upper() != currency.upper()})
        if wrong:
            raise PermanentError(
                f"the shop sells in {currency}; these prices are in another currency: "
                + ", ".join(wrong)
            )
        latest = {price.sku: price for price in prices}
        refs = await self._refs_for(list(latest))
        by_product: dict[str, list[dict[str, Any]]] = {}
        for sku, price in latest.items():
            by_product.setdefault(refs[sku].product_id, []).append(
                {
                    "id": refs[sku].variant_id,
                    "price": f"{price.amount:.2f}",
                    "compareAtPrice": None
                    if price.compare_at is None
                    else f"{price.compare_at:.2f}",
                }
            )
        for product_id, variants in by_product.items():
            data = await self.graphql.execute(
                queries.VARIANTS_BULK_UPDATE, {"productId": product_id, "variants": variants}
            )
            raise_for_user_errors("productVariantsBulkUpdate", data["productVariantsBulkUpdate"])
        return Accepted(detail=f"set {len(latest)} price(s) on {len(by_product)} product(s)")

    async def read_prices(self, skus: Sequence[str]) -> dict[str, Decimal]:
        found = await self._find(skus)
        return {sku: e.price for sku, e in found.items()}

    # --- orders ----------------------------------------------------------------------------

    async def fetch_orders(self, cursor: str | None) -> OrderPage:
        """Orders changed since the cursor, oldest change first. The cursor holds the
        ``updated_at`` watermark (compared inclusively, since Shopify times are whole
        seconds), the orders already seen at that second, and the page cursor mid-run.
        Pages holding only already-seen orders are skipped (up to a few per call)."""
        state = _OrderCursor.load(cursor, self.settings.import_orders_since)
        for _ in range(MAX_SKIPPED_PAGES):
            orders, state = await self._order_page(state)
            if orders or state.after is None:
                break
        return OrderPage(orders=tuple(orders), cursor=state.dump())

    async def _order_page(self, state: _OrderCursor) -> tuple[list[ChannelOrder], _OrderCursor]:
        search = f"updated_at:>='{state.since}'" if state.since else None
        data = await self.graphql.execute(
            queries.ORDERS, {"first": ORDERS_PAGE, "after": state.after, "query": search}
        )
        connection = data["orders"]
        orders: list[ChannelOrder] = []
        newest, newest_ids = state.pending_since, set(state.pending_seen)
        for node in connection["nodes"]:
            updated, order_id = str(node["updatedAt"]), str(node["id"])
            if updated == state.since and order_id in state.seen:
                continue  # already reported at the watermark second
            orders.append(order_from_graphql(node, await self._all_lines(node)))
            if newest is None or _later(updated, newest):
                newest, newest_ids = updated, {order_id}
            elif updated == newest:
                newest_ids.add(order_id)
        page = connection["pageInfo"]
        if page["hasNextPage"]:
            # Same filter until the run of pages ends; then the watermark moves.
            return orders, _OrderCursor(
                state.since, state.seen, page["endCursor"], newest, newest_ids
            )
        if newest is None or newest == state.since:
            return orders, _OrderCursor(state.since, state.seen | newest_ids)
        return orders, _OrderCursor(newest, newest_ids)

    async def _all_lines(self, node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        lines = list(node["lineItems"]["nodes"])
        page = node["lineItems"]["pageInfo"]
        while page["hasNextPage"]:
            data = await self.graphql.execute(
                queries.ORDER_LINES, {"id": node["id"], "after": page["endCursor"]}
            )
            more = data["order"]["lineItems"]
            lines.extend(more["nodes"])
            page = more["pageInfo"]
        return lines

    # --- fulfilments -----------------------------------------------------------------------

    async def push_fulfilment(self, fulfilment: Fulfilment) -> Accepted:
        """``fulfillmentCreate`` over the order's open fulfillment orders, for what the hub
        shipped and Shopify has not fulfilled: the hub sends each line's shipped total, and a
        line item's ``quantity - unfulfilledQuantity`` is what Shopify fulfilled already, so a
        repeat (after a crash, or of a partial shipment) creates nothing."""
        data = await self.graphql.execute(
            queries.FULFILLMENT_ORDERS, {"id": fulfilment.external_order_id}
        )
        order = data.get("order")
        if order is None:
            raise PermanentError(f"Shopify has no order {fulfilment.external_order_id}")
        # line item id -> open fulfillment order lines holding it
        open_lines: dict[str, list[tuple[str, str, str, int]]] = {}
        fulfilled: dict[str, int] = {}  # line item id -> units Shopify fulfilled
        for fulfillment_order in order["fulfillmentOrders"]["nodes"]:
            for line in fulfillment_order["lineItems"]["nodes"]:
                item = line["lineItem"]
                fulfilled[item["id"]] = int(item["quantity"]) - int(item["unfulfilledQuantity"])
            if fulfillment_order["status"] not in OPEN_FULFILLMENT_ORDER:
                continue
            location = fulfillment_order["assignedLocation"]["location"]["id"]
            for line in fulfillment_order["lineItems"]["nodes"]:
                if line["remainingQuantity"] > 0:
                    open_lines.setdefault(line["lineItem"]["id"], []).append(
                        (location, fulfillment_order["id"], line["id"], line["remainingQuantity"])
                    )
        # location -> fulfillment order -> [(fulfillment order line, quantity)]
        plan: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for wanted in fulfilment.lines:
            to_fulfil = wanted.quantity - fulfilled.get(wanted.external_line_id, 0)
            for location, fo_id, fo_line, remaining in open_lines.get(wanted.external_line_id, []):
                if to_fulfil <= 0:
                    break
                quantity = min(remaining, to_fulfil)
                plan.setdefault(location, {}).setdefault(fo_id, []).append(
                    {"id": fo_line, "quantity": quantity}
                )
                to_fulfil -= quantity
        if not plan:
            return Accepted(detail="already fulfilled in Shopify")
        created = []
        for by_order in plan.values():
            tracking = {
                key: value
                for key, value in (
                    ("company", fulfilment.carrier),
                    ("number", fulfilment.tracking_number),
                    ("url", fulfilment.tracking_url),
                )
                if value
            }
            request: dict[str, Any] = {
                "notifyCustomer": True,
                "lineItemsByFulfillmentOrder": [
                    {"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": lines}
                    for fo_id, lines in by_order.items()
                ],
            }
            if tracking:
                request["trackingInfo"] = tracking
            result = await self.graphql.execute(
                queries.FULFILLMENT_CREATE, {"fulfillment": request}
            )
            payload = result["fulfillmentCreate"]
            raise_for_user_errors("fulfillmentCreate", payload)
            created.append(payload["fulfillment"]["id"])
        return Accepted(detail=f"created {', '.join(created)}")

    # --- webhooks --------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        secrets = [self.settings.client_secret.get_secret_value()]
        if self.settings.previous_client_secret is not None:
            secrets.append(self.settings.previous_client_secret.get_secret_value())
        return is_signed_by_any(headers, body, secrets)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookMessage:
        """A verified delivery: deduped by ``X-Shopify-Webhook-Id`` (kept across Shopify's
        retries), else ``X-Shopify-Event-Id``, else the body's hash."""
        topic = header(headers, "X-Shopify-Topic") or ""
        event_id = (
            header(headers, "X-Shopify-Webhook-Id")
            or header(headers, "X-Shopify-Event-Id")
            or "sha256:" + hashlib.sha256(body).hexdigest()
        )
        try:
            payload = json.loads(body)
        except ValueError as error:
            raise PermanentError(f"Shopify webhook body is not JSON: {error}") from error
        if not isinstance(payload, dict):
            raise PermanentError("Shopify webhook body is not a JSON object")
        if topic in ORDER_TOPICS:
            order = order_from_webhook(payload)
            return WebhookMessage(event_id, topic, order.external_id, order)
        entity = payload.get("admin_graphql_api_id")
        return WebhookMessage(event_id, topic, str(entity) if entity else None)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _later(left: str, right: str) -> bool:
    return datetime.fromisoformat(left.replace("Z", "+00:00")) > datetime.fromisoformat(
        right.replace("Z", "+00:00")
    )


@dataclass(frozen=True)
class _OrderCursor:
    since: str | None
    seen: set[str]
    after: str | None = None  # GraphQL page cursor within one run of pages
    pending_since: str | None = None  # watermark to move to when the run ends
    pending_seen: set[str] | frozenset[str] = frozenset()

    @classmethod
    def load(cls, cursor: str | None, start: datetime | None) -> _OrderCursor:
        if not cursor:
            since = start.isoformat().replace("+00:00", "Z") if start else None
            return cls(since, set())
        try:
            raw = json.loads(cursor)
            return cls(
                raw.get("since"),
                set(raw.get("seen") or []),
                raw.get("after"),
                raw.get("pending_since"),
                set(raw.get("pending_seen") or []),
            )
        except (ValueError, AttributeError) as error:
            raise PermanentError(f"unreadable Shopify order cursor: {cursor!r}") from error

    def dump(self) -> str:
        return json.dumps(
            {
                "since": self.since,
                "seen": sorted(self.seen),
                "after": self.after,
                "pending_since": self.pending_since,
                "pending_seen": sorted(self.pending_seen),
            }
        )
