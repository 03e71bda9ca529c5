"""The Magento 2 / Adobe Commerce connector: admin REST API 2.4.9 for products, Multi-Source
Inventory source items, base prices, the order search and shipments.

It keeps no database state: which SKUs exist comes from the product search
(``sku in (...)``) and is cached for the life of the instance; the order cursor (the newest
``updated_at`` seen) is handed back to the engine.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

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
)
from channelhub.connectors.magento.client import (
    API_VERSION,
    MagentoClient,
    render,
    search_params,
)
from channelhub.connectors.magento.mapping import (
    CANCELLED_STATES,
    base_price,
    carrier_track,
    magento_time,
    magento_time_text,
    order_from_magento,
    product_body,
    source_item,
)
from channelhub.connectors.polling import PollCursorFormat

MAX_ORDER_PAGES = 5
OVERLAP = timedelta(seconds=1)  # updated_at has whole seconds: re-read the last second
ORDER_CURSOR = PollCursorFormat("Magento", magento_time, magento_time_text)
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_STORE_CODE = re.compile(r"^[a-z0-9_]{1,32}$")


class MagentoConfig(ConnectorConfig):
    """An integration's access token (System > Extensions > Integrations), or an admin user
    whose token the connector fetches from ``POST /V1/integration/admin/token``."""

    base_url: str = Field(max_length=2000)  # https://shop.example.com
    store_code: str = "all"  # "all" writes the global (admin) scope
    access_token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    source_code: str = Field(default="default", min_length=1, max_length=255)
    store_id: int = Field(default=0, ge=0)  # the scope of base prices (0: global)
    website_ids: tuple[int, ...] = (1,)
    attribute_set_id: int = Field(default=4, ge=1)  # "Default"
    gtin_attribute: str | None = None  # e.g. "ean", a text attribute in the attribute set
    input_list_limit: int = Field(default=20, ge=1, le=10_000)  # Web API input limit
    orders_page_size: int = Field(default=50, ge=1, le=300)
    import_orders_since: datetime | None = None

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url is the store's address, e.g. https://shop.example.com")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ValueError("bearer tokens travel only over HTTPS; use the https:// address")
        return value.strip().rstrip("/")

    @field_validator("store_code")
    @classmethod
    def _store_code(cls, value: str) -> str:
        if not _STORE_CODE.match(value):
            raise ValueError("store_code is a store view code such as 'default', or 'all'")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> MagentoConfig:
        if self.access_token is None and not (self.username and self.password):
            raise ValueError("give access_token, or username and password of an admin user")
        return self


class MagentoConnector(Connector):
    platform: ClassVar[str] = "magento"
    api_version: ClassVar[str] = API_VERSION
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.PUSH_LISTINGS,
            Capability.PUSH_STOCK,
            Capability.PUSH_PRICES,
            Capability.PULL_ORDERS,
            Capability.PUSH_FULFILMENTS,
            Capability.PUSH_CANCELLATIONS,
            Capability.READ_STOCK,
            Capability.READ_PRICES,
        }
    )
    config_model: ClassVar[type[ConnectorConfig]] = MagentoConfig
    # Magento sets no request rate of its own on the admin API (2.4.7's backpressure limits
    # order placement); PHP-FPM workers are the real budget. Lists are cut to the input limit.
    rate_limit: ClassVar[RateLimit] = RateLimit(rate=8, burst=16)
    max_batch: ClassVar[int] = 100

    def __init__(self, config: ConnectorConfig, http: httpx.AsyncClient) -> None:
        if not isinstance(config, MagentoConfig):
            raise TypeError("MagentoConnector needs a MagentoConfig")
        super().__init__(config, http)
        self.settings = config
        login = (
            (config.username, config.password.get_secret_value())
            if config.username and config.password
            else None
        )
        token = config.access_token.get_secret_value() if config.access_token else None
        self.client = MagentoClient(http, config.base_url, config.store_code, token, login)
        self._known: dict[str, str] = {}  # SKU -> type_id, of products Magento holds
        self._parents: set[str] = set()  # SKUs seen as a variant's parent

    def _chunks(self, items: Sequence[Any]) -> list[Sequence[Any]]:
        size = self.settings.input_list_limit
        return [items[i : i + size] for i in range(0, len(items), size)]

    # --- connection ------------------------------------------------------------------------

    async def test_connection(self) -> str:
        configs = await self.client.json("GET", "/store/storeConfigs")
        source = await self.client.json(
            "GET", f"/inventory/sources/{quote(self.settings.source_code, safe='')}"
        )
        stores = ", ".join(
            f"{c.get('code')} ({c.get('base_currency_code')})"
            for c in configs or []
            if isinstance(c, Mapping)
        )
        return (
            f"Magento at {self.settings.base_url} (REST {API_VERSION}): stores {stores}; "
            f"stock goes to source {source.get('source_code')} ({source.get('name')})"
        )

    # --- SKU lookups -----------------------------------------------------------------------

    async def _search_products(self, skus: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in self._chunks(list(dict.fromkeys(skus))):
            params = search_params(
                [("sku", ",".join(chunk), "in")], page_size=len(chunk), current_page=1
            )
            answer = await self.client.json("GET", "/products", params=params)
            found += [p for p in (answer or {}).get("items") or [] if isinstance(p, dict)]
        return found

    async def _existing(self, skus: Sequence[str]) -> set[str]:
        missing = [sku for sku in skus if sku not in self._known]
        if missing:
            wanted = set(missing)
            for product in await self._search_products(missing):
                if product.get("sku") in wanted:
                    self._known[str(product["sku"])] = str(product.get("type_id") or "simple")
        return {sku for sku in skus if sku in self._known}

    async def _require(self, skus: Sequence[str]) -> None:
        absent = sorted(set(skus) - await self._existing(skus))
        if absent:
            raise TransientError(
                "no Magento product has these SKUs (push their listings first): "
                + ", ".join(absent),
                retry_after=1.0,
            )

    # --- listings --------------------------------------------------------------------------

    async def push_listings(self, listings: Sequence[Listing]) -> Accepted:
        """``POST /V1/products`` for a new SKU, ``PUT /V1/products/{sku}`` for a known one.
        A product model with variants is a ``configurable`` (created from its first variant
        when the model itself is not in the push); variants are simple products not visible
        on their own."""
        parents = {x.parent_sku: x for x in listings if x.parent_sku}
        self._parents.update(parents)
        own = {x.sku for x in listings}
        existing = await self._existing([*own, *parents])
        for listing in listings:
            await self._save(listing, creating=listing.sku not in existing)
        for parent_sku, variant in parents.items():
            if parent_sku in own:
                continue
            if parent_sku not in existing:
                model = replace(variant, sku=parent_sku, parent_sku=None, gtin=None, price=None)
                await self._save(model, creating=True)
            elif self._known.get(parent_sku) != "configurable":
                body = {"product": {"sku": parent_sku, "type_id": "configurable"}}
                await self._put(parent_sku, {**body, "saveOptions": True})
                self._known[parent_sku] = "configurable"
        return Accepted(detail=f"{len(own - existing)} created, {len(own & existing)} updated")

    async def _save(self, listing: Listing, *, creating: bool) -> None:
        config = self.settings
        type_id = "configurable" if listing.sku in self._parents else "simple"
        body = product_body(
            listing,
            type_id=type_id,
            attribute_set_id=config.attribute_set_id,
            website_ids=config.website_ids,
            gtin_attribute=config.gtin_attribute,
            creating=creating,
        )
        if creating:
            url_key = {"attribute_code": "url_key", "value": _url_key(listing)}
            body["product"]["custom_attributes"].append(url_key)
            await self._call(listing.sku, "POST", "/products", body)
        else:
            await self._put(listing.sku, body)
        self._known[listing.sku] = type_id

    async def _put(self, sku: str, body: dict[str, Any]) -> None:
        await self._call(sku, "PUT", f"/products/{_sku_path(sku)}", body)

    async def _call(self, sku: str, method: str, path: str, body: dict[str, Any]) -> None:
        try:
            await self.client.json(method, path, json=body)
        except PermanentError as error:
            self._known.pop(sku, None)
            raise PermanentError(
                f"Magento refused product {sku}: {error.message}", status=error.status
            ) from error

    # --- stock and prices ------------------------------------------------------------------

    async def push_stock(self, levels: Sequence[StockLevel]) -> Accepted:
        """Absolute quantities at the connection's source, in lists of at most the input
        limit (``POST /V1/inventory/source-items``)."""
        await self._require([level.sku for level in levels])
        for chunk in self._chunks(list(levels)):
            items = [source_item(level, self.settings.source_code) for level in chunk]
            await self.client.json("POST", "/inventory/source-items", json={"sourceItems": items})
        return Accepted()

    async def push_prices(self, prices: Sequence[ChannelPrice]) -> Accepted:
        """Base prices in bulk (``POST /V1/products/base-prices``); the answer lists the rows
        Magento refused, each named here by its SKU."""
        await self._require([price.sku for price in prices])
        for chunk in self._chunks(list(prices)):
            rows = [base_price(price, self.settings.store_id) for price in chunk]
            failures = await self.client.json(
                "POST", "/products/base-prices", json={"prices": rows}
            )
            problems = [
                render(f.get("message"), f.get("parameters"))
                for f in failures or []
                if isinstance(f, Mapping)
            ]
            if problems:
                raise PermanentError("Magento refused base prices: " + "; ".join(problems))
        return Accepted()

    async def read_stock(self, skus: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in self._chunks(list(dict.fromkeys(skus))):
            params = search_params(
                [("sku", ",".join(chunk), "in"), ("source_code", self.settings.source_code, "eq")],
                page_size=len(chunk),
            )
            answer = await self.client.json("GET", "/inventory/source-items", params=params)
            for item in (answer or {}).get("items") or []:
                found[str(item["sku"])] = int(Decimal(str(item.get("quantity") or 0)))
        return found

    async def read_prices(self, skus: Sequence[str]) -> dict[str, Decimal]:
        found: dict[str, Decimal] = {}
        for chunk in self._chunks(list(dict.fromkeys(skus))):
            answer = await self.client.json(
                "POST", "/products/base-prices-information", json={"skus": list(chunk)}
            )
            for row in answer or []:
                if row.get("store_id", 0) == self.settings.store_id:
                    found[str(row["sku"])] = Decimal(str(row["price"]))
        return found

    # --- orders ----------------------------------------------------------------------------

    async def fetch_orders(self, cursor: str | None) -> OrderPage:
        """Orders updated since the cursor, oldest update first, through the order search.
        Each request re-reads the cursor's second; the page only advances when a whole page
        lies within that second."""
        position = ORDER_CURSOR.read(cursor, self.settings.import_orders_since)
        size = self.settings.orders_page_size
        orders: list[ChannelOrder] = []
        for _ in range(MAX_ORDER_PAGES):
            after, page = position.after, position.page
            filters = [("updated_at", magento_time_text(after - OVERLAP), "gt")] if after else []
            params = search_params(
                filters, sort=("updated_at", "ASC"), page_size=size, current_page=page
            )
            answer = await self.client.json("GET", "/orders", params=params)
            total = int((answer or {}).get("total_count") or 0)
            pages = max(1, math.ceil(total / size))
            # Magento answers the last page again for a page past the end: ignore it.
            raw = ((answer or {}).get("items") or []) if page <= pages else []
            batch = [order_from_magento(item) for item in raw if isinstance(item, Mapping)]
            orders += batch
            position, read_on = position.advanced(batch, pages)
            if not read_on:
                break
        unique = {order.external_id: order for order in orders}
        return OrderPage(tuple(unique.values()), ORDER_CURSOR.write(position))

    async def _order(self, order_id: str) -> dict[str, Any]:
        answer = await self.client.json("GET", f"/orders/{_order_id(order_id)}")
        if not isinstance(answer, dict):
            raise PermanentError(f"Magento has no order {order_id}")
        return answer

    async def push_fulfilment(self, fulfilment: Fulfilment) -> Accepted:
        """``POST /V1/order/{id}/ship`` with what has not shipped yet: a repeat finds the
        quantities already shipped and sends nothing."""
        order_id = _order_id(fulfilment.external_order_id)
        order = await self._order(order_id)
        if order.get("state") in CANCELLED_STATES:
            raise PermanentError(
                f"Magento order {order_id} is {order.get('state')}: it cannot ship"
            )
        shipped = {
            str(item.get("item_id")): Decimal(str(item.get("qty_shipped") or 0))
            for item in order.get("items") or []
        }
        items = []
        for line in fulfilment.lines:
            if line.external_line_id not in shipped:
                raise PermanentError(
                    f"Magento order {order_id} has no item {line.external_line_id} ({line.sku})"
                )
            remaining = Decimal(line.quantity) - shipped[line.external_line_id]
            if remaining > 0:
                items.append({"order_item_id": int(line.external_line_id), "qty": float(remaining)})
        if not items:
            return Accepted(detail="already shipped")
        body = {"items": items, "notify": True, "tracks": carrier_track(fulfilment)}
        shipment = await self.client.json("POST", f"/order/{order_id}/ship", json=body)
        return Accepted(detail=f"shipment {shipment}")

    async def push_cancellation(self, cancellation: Cancellation) -> Accepted:
        """``POST /V1/orders/{id}/cancel``; Magento answers false when the order cannot be
        cancelled (already invoiced or shipped), unless it was cancelled before."""
        order_id = _order_id(cancellation.external_order_id)
        if await self.client.json("POST", f"/orders/{order_id}/cancel") is True:
            return Accepted()
        state = (await self._order(order_id)).get("state")
        if state == "canceled":
            return Accepted(detail="already cancelled")
        raise PermanentError(f"Magento could not cancel order {order_id} (state {state})")


def _sku_path(sku: str) -> str:
    return quote(sku, safe="")


def _url_key(listing: Listing) -> str:
    """A URL key unique per SKU: Magento refuses a second product with the same one (which
    it would otherwise derive from the name)."""
    text = f"{listing.title}-{listing.sku}".lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:200]


def _order_id(external_id: str) -> str:
    if not external_id.isdigit():
        raise PermanentError(f"{external_id!r} is not a Magento order id (entity_id)")
    return external_id
