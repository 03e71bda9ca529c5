"""The WooCommerce connector: REST API v3 (``/wp-json/wc/v3``) for products, variations, stock,
prices, orders and order status; HMAC-signed order webhooks.

It keeps no database state. SKU to product/variation ids come from ``GET /products?sku=...``
(with a ``sku`` filter WooCommerce searches products and variations) and are cached for the
life of the instance; a batch that fails forgets the ids it used, so the retry looks them up
again. The order cursor (the newest ``date_modified_gmt`` seen) is handed back to the engine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import Field, SecretStr, field_validator

from channelhub.connectors.base import (
    Accepted,
    Cancellation,
    Capability,
    ChannelOrder,
    ChannelPrice,
    Connector,
    ConnectorConfig,
    Fulfilment,
    Listing,
    OrderPage,
    PermanentError,
    RateLimit,
    StockLevel,
    TransientError,
    WebhookMessage,
)
from channelhub.connectors.polling import PollCursorFormat
from channelhub.connectors.woocommerce.client import API_VERSION, WooClient, raise_for_batch
from channelhub.connectors.woocommerce.mapping import (
    CANCELLED_STATUSES,
    ProductRef,
    decimal,
    fulfilment_note,
    gmt_text,
    gmt_time,
    group_listings,
    option_names,
    order_from_woo,
    price_fields,
    simple_product,
    stock_fields,
    variable_product,
    variation,
)
from channelhub.connectors.woocommerce.webhooks import (
    ORDER_TOPICS,
    header,
    is_signed_by_any,
    ping_id,
)

BATCH_LIMIT = 100  # "By default it's limited to up to 100 objects" per batch request
LOOKUP_CHUNK = 50  # SKUs per GET /products?sku=a,b,... (keeps URLs short)
MAX_ORDER_PAGES = 5  # pages read per poll; the rest waits for the next poll
WEBHOOK_TOPICS = ("order.created", "order.updated")
OVERLAP = timedelta(seconds=1)  # *_gmt fields have whole seconds: re-read the last second
ORDER_CURSOR = PollCursorFormat("WooCommerce", gmt_time, gmt_text)
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class WooCommerceConfig(ConnectorConfig):
    """A REST API key (WooCommerce > Settings > Advanced > REST API, read/write)."""

    store_url: str = Field(max_length=2000)  # https://shop.example.com (the WordPress site)
    consumer_key: str = Field(min_length=1, max_length=200)  # ck_...
    consumer_secret: SecretStr  # cs_...
    webhook_secret: SecretStr | None = None  # the "Secret" of the order webhooks
    previous_webhook_secrets: tuple[SecretStr, ...] = Field(default=(), max_length=3)
    # The hub's address for this connection's webhooks (https://hub/api/v1/webhooks/<code>):
    # when set with webhook_secret, testing the connection subscribes the order topics.
    webhook_url: str | None = Field(default=None, pattern=r"^https?://", max_length=2000)
    import_orders_since: datetime | None = None  # first poll starts here (default: all)
    orders_per_page: int = Field(default=50, ge=1, le=100)

    @field_validator("store_url")
    @classmethod
    def _https(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("store_url is the shop's address, e.g. https://shop.example.com")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ValueError(
                "WooCommerce accepts a consumer key over HTTP Basic only on HTTPS; "
                "use the https:// address of the shop"
            )
        return value.strip().rstrip("/")


@dataclass(frozen=True)
class _Found:
    ref: ProductRef
    sku: str
    parent_sku: str | None
    stock: int | None
    price: Decimal
    attributes: dict[str, list[str]]


class WooCommerceConnector(Connector):
    platform: ClassVar[str] = "woocommerce"
    api_version: ClassVar[str] = API_VERSION
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
    config_model: ClassVar[type[ConnectorConfig]] = WooCommerceConfig
    # WooCommerce sets no limit of its own; shared hosts throttle PHP workers. Five calls a
    # second, each carrying up to 100 items, stays polite; 429/503 answers slow us further.
    rate_limit: ClassVar[RateLimit] = RateLimit(rate=5, burst=10)
    max_batch: ClassVar[int] = BATCH_LIMIT

    def __init__(self, config: ConnectorConfig, http: httpx.AsyncClient) -> None:
        if not isinstance(config, WooCommerceConfig):
            raise TypeError("WooCommerceConnector needs a WooCommerceConfig")
        super().__init__(config, http)
        self.settings = config
        self.client = WooClient(
            http, config.store_url, config.consumer_key, config.consumer_secret.get_secret_value()
        )
        self._refs: dict[str, ProductRef] = {}
        self._attributes: dict[str, dict[str, list[str]]] = {}  # variable product SKU -> options

    # --- connection ------------------------------------------------------------------------

    async def test_connection(self) -> str:
        products = await self.client.call("GET", "/products", params={"per_page": 1})
        orders = await self.client.call("GET", "/orders", params={"per_page": 1})
        text = (
            f"WooCommerce at {self.settings.store_url} ({API_VERSION}): "
            f"{products.headers.get('X-WP-Total', '?')} products, "
            f"{orders.headers.get('X-WP-Total', '?')} orders"
        )
        if self.settings.webhook_url and self.settings.webhook_secret:
            text += "; " + await self.subscribe_webhooks()
        return text

    async def subscribe_webhooks(self) -> str:
        """Make sure an active webhook delivers each order topic to ``webhook_url`` signed
        with ``webhook_secret``: create the missing ones, and re-activate (with the secret)
        those WooCommerce disabled after failed deliveries. Safe to repeat."""
        url, secret = self.settings.webhook_url, self.settings.webhook_secret
        if not url or not secret:
            raise PermanentError("webhook_url and webhook_secret are needed to subscribe")
        hooks = await self.client.json("GET", "/webhooks", params={"per_page": 100})
        done = []
        for topic in WEBHOOK_TOPICS:
            mine = [
                h
                for h in hooks or []
                if isinstance(h, Mapping)
                and h.get("topic") == topic
                and h.get("delivery_url") == url
            ]
            body = {"status": "active", "secret": secret.get_secret_value()}
            if mine:
                await self.client.json("PUT", f"/webhooks/{int(mine[0]['id'])}", json=body)
                kept = mine[0].get("status") == "active"
                done.append(f"{topic} ({'kept' if kept else 're-activated'})")
            else:
                name = f"channelhub {topic}"
                create = {"name": name, "topic": topic, "delivery_url": url, **body}
                await self.client.json("POST", "/webhooks", json=create)
                done.append(f"{topic} (created)")
        return "webhooks " + ", ".join(done)

    # --- SKU lookups -----------------------------------------------------------------------

    async def _find(self, skus: Sequence[str]) -> dict[str, _Found]:
        """Products and variations holding ``skus`` (exact matches), read now."""
        found: dict[str, _Found] = {}
        unique = [s for s in dict.fromkeys(skus) if s]
        for start in range(0, len(unique), LOOKUP_CHUNK):
            chunk = unique[start : start + LOOKUP_CHUNK]
            wanted = set(chunk)
            answer = await self.client.json(
                "GET", "/products", params={"sku": ",".join(chunk), "per_page": 100}
            )
            parents: dict[int, str] = {}
            for item in answer if isinstance(answer, list) else []:
                sku = str(item.get("sku") or "")
                if sku not in wanted:
                    continue
                is_variation = item.get("type") == "variation"
                ref = (
                    ProductRef(int(item["parent_id"]), int(item["id"]))
                    if is_variation
                    else ProductRef(int(item["id"]))
                )
                if not is_variation:
                    parents[ref.product_id] = sku
                stock = item.get("stock_quantity")
                found[sku] = _Found(
                    ref,
                    sku,
                    None,
                    int(stock) if stock is not None and item.get("manage_stock") else None,
                    decimal(item.get("price"), f"the price of {sku}"),
                    {
                        str(a.get("name")): [str(o) for o in a.get("options") or []]
                        for a in item.get("attributes") or []
                        if isinstance(a, Mapping) and "options" in a
                    },
                )
        for sku, entry in found.items():
            self._refs[sku] = entry.ref
            if entry.attributes and not entry.ref.is_variation:
                self._attributes[sku] = entry.attributes
        return found

    async def _known(self, skus: Sequence[str]) -> dict[str, ProductRef]:
        missing = [sku for sku in skus if sku not in self._refs]
        if missing:
            await self._find(missing)
        return {sku: self._refs[sku] for sku in skus if sku in self._refs}

    async def _refs_for(self, skus: Sequence[str]) -> dict[str, ProductRef]:
        refs = await self._known(skus)
        absent = sorted({sku for sku in skus if sku not in refs})
        if absent:
            # Retryable: the listing may be on its way in a parallel job; the engine gives up
            # (dead letter, with this message) if it never arrives.
            raise TransientError(
                "no WooCommerce product or variation has these SKUs (push their listings "
                "first): " + ", ".join(absent),
                retry_after=1.0,
            )
        return refs

    def _forget(self, skus: Sequence[str]) -> None:
        for sku in skus:
            self._refs.pop(sku, None)

    # --- batches ---------------------------------------------------------------------------

    async def _batch(
        self,
        path: str,
        create: list[dict[str, Any]],
        update: list[dict[str, Any]],
        what: str,
    ) -> list[dict[str, Any]]:
        """POST ``create`` and ``update`` to a batch endpoint, at most 100 items a request;
        the created resources. A refused item raises PermanentError naming its SKU."""
        created: list[dict[str, Any]] = []
        items = [("create", x) for x in create] + [("update", x) for x in update]
        for start in range(0, len(items), BATCH_LIMIT):
            chunk = items[start : start + BATCH_LIMIT]
            sent: dict[str, list[dict[str, Any]]] = {}
            for action, body in chunk:
                sent.setdefault(action, []).append(body)
            try:
                answer = await self.client.json("POST", path, json=sent)
                raise_for_batch(answer, sent, what)
            except PermanentError:
                self._forget([str(b.get("sku")) for _, b in chunk if b.get("sku")])
                raise
            created += [
                x for x in answer.get("create") or [] if isinstance(x, dict) and x.get("id")
            ]
        return created

    # --- listings --------------------------------------------------------------------------

    async def push_listings(self, listings: Sequence[Listing]) -> Accepted:
        """Simple products and variable parents through ``POST /products/batch``, then each
        parent's variations through ``POST /products/{id}/variations/batch``: an SKU
        WooCommerce already holds is updated, any other is created."""
        simple, groups = group_listings(listings)
        every = [x.sku for x in simple] + [g.parent_sku for g in groups]
        every += [v.sku for g in groups for v in g.variations]
        refs = await self._known(every)
        create: list[dict[str, Any]] = []
        update: list[dict[str, Any]] = []
        for listing in simple:
            ref = refs.get(listing.sku)
            body = simple_product(listing)
            if ref is None:
                create.append(body)
            elif ref.is_variation:
                raise PermanentError(
                    f"SKU {listing.sku} is a variation in WooCommerce, but the hub lists it "
                    "as a product of its own"
                )
            else:
                update.append({"id": ref.product_id, **body})
        for group in groups:
            parent_ref = refs.get(group.parent_sku)
            body = variable_product(group, self._attributes.get(group.parent_sku, {}))
            if parent_ref is None:
                create.append(body)
            elif parent_ref.is_variation:
                raise PermanentError(f"SKU {group.parent_sku} is a variation in WooCommerce")
            elif group.parent.sku == group.parent_sku:
                update.append({"id": parent_ref.product_id, **body})
            else:  # the parent is not in this push: only make room for the new options
                update.append(
                    {"id": parent_ref.product_id, "sku": group.parent_sku, **_only_attributes(body)}
                )
        created = await self._batch("/products/batch", create, update, "the products")
        for item in created:
            self._refs[str(item.get("sku"))] = ProductRef(int(item["id"]))
        for group in groups:
            attributes = variable_product(group, self._attributes.get(group.parent_sku, {}))
            self._attributes[group.parent_sku] = {
                a["name"]: list(a["options"]) for a in attributes["attributes"]
            }
            await self._push_variations(
                group.parent_sku, group.variations, option_names(group), refs
            )
        return Accepted(detail=f"{len(create)} created, {len(update)} updated")

    async def _push_variations(
        self,
        parent_sku: str,
        variations: Sequence[Listing],
        names: Sequence[str],
        refs: Mapping[str, ProductRef],
    ) -> None:
        parent = self._refs.get(parent_sku)
        if parent is None:
            raise TransientError(f"WooCommerce did not return the id of product {parent_sku}")
        create: list[dict[str, Any]] = []
        update: list[dict[str, Any]] = []
        for listing in variations:
            body = variation(listing, names)
            ref = refs.get(listing.sku)
            if ref is None:
                create.append(body)
            elif ref.product_id != parent.product_id or ref.variation_id is None:
                raise PermanentError(
                    f"SKU {listing.sku} already exists in WooCommerce outside product {parent_sku}"
                )
            else:
                update.append({"id": ref.variation_id, **body})
        path = f"/products/{parent.product_id}/variations/batch"
        for item in await self._batch(path, create, update, f"the variations of {parent_sku}"):
            self._refs[str(item.get("sku"))] = ProductRef(parent.product_id, int(item["id"]))

    # --- stock and prices ------------------------------------------------------------------

    async def _update_by_sku(self, changes: Mapping[str, dict[str, Any]], what: str) -> None:
        """Apply ``changes`` (SKU -> fields) through the product and variation batches."""
        refs = await self._refs_for(list(changes))
        products: list[dict[str, Any]] = []
        by_parent: dict[int, list[dict[str, Any]]] = {}
        for sku, fields in changes.items():
            ref = refs[sku]
            if ref.variation_id is None:
                products.append({"id": ref.product_id, "sku": sku, **fields})
            else:
                by_parent.setdefault(ref.product_id, []).append(
                    {"id": ref.variation_id, "sku": sku, **fields}
                )
        if products:
            await self._batch("/products/batch", [], products, what)
        for parent_id, items in by_parent.items():
            await self._batch(f"/products/{parent_id}/variations/batch", [], items, what)

    async def push_stock(self, levels: Sequence[StockLevel]) -> Accepted:
        """``manage_stock`` with the absolute ``stock_quantity`` (a repeat is harmless)."""
        changes = {level.sku: stock_fields(max(0, level.quantity)) for level in levels}
        await self._update_by_sku(changes, "the stock update")
        return Accepted()

    async def push_prices(self, prices: Sequence[ChannelPrice]) -> Accepted:
        """``regular_price`` and ``sale_price`` as strings."""
        await self._update_by_sku({p.sku: price_fields(p) for p in prices}, "the price update")
        return Accepted()

    async def read_stock(self, skus: Sequence[str]) -> dict[str, int]:
        return {
            sku: found.stock
            for sku, found in (await self._find(skus)).items()
            if found.stock is not None
        }

    async def read_prices(self, skus: Sequence[str]) -> dict[str, Decimal]:
        return {sku: found.price for sku, found in (await self._find(skus)).items()}

    # --- orders ----------------------------------------------------------------------------

    async def fetch_orders(self, cursor: str | None) -> OrderPage:
        """Orders modified since the cursor, oldest change first (``orderby=modified``).

        The cursor holds the newest ``date_modified_gmt`` seen and a page number; each request
        re-reads the last second (timestamps have whole seconds), and the page only advances
        when a whole page lies within that second, so no order is skipped."""
        position = ORDER_CURSOR.read(cursor, self.settings.import_orders_since)
        orders: list[ChannelOrder] = []
        for _ in range(MAX_ORDER_PAGES):
            params: dict[str, Any] = {
                "orderby": "modified",
                "order": "asc",
                "per_page": self.settings.orders_per_page,
                "page": position.page,
                "dates_are_gmt": "true",
            }
            if position.after is not None:
                params["modified_after"] = gmt_text(position.after - OVERLAP)
            response = await self.client.call("GET", "/orders", params=params)
            raw = response.json()
            batch = [order_from_woo(item) for item in raw if isinstance(item, Mapping)]
            orders += batch
            total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
            position, read_on = position.advanced(batch, total_pages)
            if not read_on:
                break
        unique = {order.external_id: order for order in orders}
        return OrderPage(tuple(unique.values()), ORDER_CURSOR.write(position))

    async def _order(self, order_id: str) -> dict[str, Any]:
        answer = await self.client.json("GET", f"/orders/{_order_id(order_id)}")
        if not isinstance(answer, dict):
            raise PermanentError(f"WooCommerce has no order {order_id}")
        return answer

    async def push_fulfilment(self, fulfilment: Fulfilment) -> Accepted:
        """An order note with the tracking (once), then status ``completed`` when every line
        has shipped. A repeat finds the note and the status already there."""
        order_id = _order_id(fulfilment.external_order_id)
        order = await self._order(order_id)
        status = str(order.get("status"))
        if status in CANCELLED_STATUSES:
            raise PermanentError(f"WooCommerce order {order_id} is {status}: it cannot ship")
        note = fulfilment_note(fulfilment)
        notes = await self.client.json("GET", f"/orders/{order_id}/notes")
        if not any(isinstance(n, Mapping) and n.get("note") == note for n in notes or []):
            await self.client.json(
                "POST", f"/orders/{order_id}/notes", json={"note": note, "customer_note": True}
            )
        shipped = {line.external_line_id: line.quantity for line in fulfilment.lines}
        complete = all(
            shipped.get(str(item.get("id")), 0) >= int(item.get("quantity") or 0)
            for item in order.get("line_items") or []
        )
        if complete and status != "completed":
            await self.client.json("PUT", f"/orders/{order_id}", json={"status": "completed"})
        return Accepted(detail="completed" if complete else "partly shipped: note added")

    async def push_cancellation(self, cancellation: Cancellation) -> Accepted:
        """Status ``cancelled`` (WooCommerce cancels whole orders, not lines)."""
        order_id = _order_id(cancellation.external_order_id)
        await self.client.json("PUT", f"/orders/{order_id}", json={"status": "cancelled"})
        return Accepted()

    # --- webhooks --------------------------------------------------------------------------

    def _secrets(self) -> list[str]:
        config = self.settings
        found = [config.webhook_secret] if config.webhook_secret else []
        return [s.get_secret_value() for s in (*found, *config.previous_webhook_secrets)]

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        """WooCommerce's unsigned creation ping (``webhook_id=<id>``): it carries nothing but
        the webhook's id and must be answered 2xx, or WooCommerce will not save the webhook."""
        return ping_id(headers, body) is not None

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """A valid ``X-WC-Webhook-Signature`` (the creation ping is not signed: see is_ping)."""
        return is_signed_by_any(headers, body, self._secrets())

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookMessage:
        ping = ping_id(headers, body)
        if ping is not None:
            return WebhookMessage(event_id=f"ping:{ping}", topic="ping", entity=None)
        topic = header(headers, "X-WC-Webhook-Topic") or "unknown"
        delivery = header(headers, "X-WC-Webhook-Delivery-ID")
        try:
            document = json.loads(body)
        except ValueError as error:
            raise PermanentError(f"WooCommerce webhook body is not JSON: {error}") from error
        if not isinstance(document, dict):
            raise PermanentError("WooCommerce webhook body is not a JSON object")
        order = order_from_woo(document) if topic in ORDER_TOPICS else None
        entity = str(document["id"]) if "id" in document else None
        return WebhookMessage(
            event_id=f"delivery:{delivery}" if delivery else "",
            topic=topic,
            entity=entity,
            order=order,
        )


def _only_attributes(body: Mapping[str, Any]) -> dict[str, Any]:
    return {"attributes": body["attributes"]}


def _order_id(external_id: str) -> str:
    if not external_id.isdigit():
        raise PermanentError(f"{external_id!r} is not a WooCommerce order id")
    return external_id
