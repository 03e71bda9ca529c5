"""The Medusa v2 connector: products and variants, stock per location, prices, orders polled,
fulfilments and cancellations back (Admin API of Medusa 2.x; tested against 2.21.2).

Stock: the hub sends the quantity a channel may sell. A Medusa inventory level's
``stocked_quantity`` also holds the units Medusa reserved for its own open orders (available =
stocked - reserved), so the level is set to the hub's quantity plus the level's current
reservations: Medusa then offers exactly what the hub allows, before and after a fulfilment.
Core Medusa sends no webhooks: orders are polled with a cursor on ``updated_at``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from channelhub.connectors.base import (
    Accepted,
    Cancellation,
    Capability,
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
from channelhub.connectors.medusa import mapping
from channelhub.connectors.medusa.client import MedusaClient
from channelhub.connectors.medusa.config import MedusaConfig
from channelhub.connectors.medusa.mapping import OrderCursor, ProductGroup

log = logging.getLogger("channelhub.connectors.medusa")
#: How long the engine waits before retrying a stock or price whose variant is not there yet.
WAIT_FOR_VARIANT_SECONDS = 2.0


class MedusaConnector(Connector):
    """Medusa v2 Admin API (2.x, OpenAPI of 2.21; bearer token or secret API key)."""

    platform: ClassVar[str] = "medusa"
    api_version: ClassVar[str] = "Medusa v2 Admin API (2.x; tested against 2.21.2)"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.PUSH_LISTINGS,
            Capability.PUSH_STOCK,
            Capability.PUSH_PRICES,
            Capability.PULL_ORDERS,
            Capability.PUSH_FULFILMENTS,
            Capability.PUSH_CANCELLATIONS,
            Capability.READ_STOCK,
        }
    )
    config_model: ClassVar[type[ConnectorConfig]] = MedusaConfig
    # Medusa sets no limit of its own; a self-hosted server is one node process: be gentle.
    rate_limit: ClassVar[RateLimit] = RateLimit(rate=10, burst=20)
    max_batch: ClassVar[int] = 25

    def __init__(self, config: ConnectorConfig, http: httpx.AsyncClient) -> None:
        super().__init__(config, http)
        if not isinstance(config, MedusaConfig):
            raise TypeError("MedusaConnector needs a MedusaConfig")
        self.settings = config
        self.client = MedusaClient(http, config)
        self._location_id: str | None = config.stock_location_id
        self._sales_channel_id: str | None = config.sales_channel_id
        self._sales_channel_known = config.sales_channel_id is not None
        self._shipping_profile_id: str | None = config.shipping_profile_id
        self._inventory_items: dict[str, str] = {}  # SKU -> inventory item id

    # --- connection ----------------------------------------------------------------------

    async def test_connection(self) -> str:
        location = await self.stock_location()
        found = await self.client.request("GET", "/admin/products", params={"limit": 1})
        return (
            f"Medusa reached at {self.settings.url}: {found.get('count', 0)} products; "
            f"stock location {location}"
        )

    async def stock_location(self) -> str:
        """The configured stock location, else the store's only one."""
        if self._location_id is not None:
            return self._location_id
        body = await self.client.request(
            "GET", "/admin/stock-locations", params={"fields": "id,name", "limit": 50}
        )
        locations = body.get("stock_locations") or []
        if len(locations) != 1:
            names = ", ".join(f"{loc.get('name')} ({loc.get('id')})" for loc in locations)
            raise PermanentError(
                f"this Medusa store has {len(locations)} stock locations"
                f"{': ' + names if names else ''}; set stock_location_id in the connection"
            )
        self._location_id = str(locations[0]["id"])
        return self._location_id

    async def _sales_channel(self) -> str | None:
        if not self._sales_channel_known:
            body = await self.client.request(
                "GET", "/admin/sales-channels", params={"fields": "id,name", "limit": 50}
            )
            channels = body.get("sales_channels") or []
            self._sales_channel_id = str(channels[0]["id"]) if len(channels) == 1 else None
            self._sales_channel_known = True
        return self._sales_channel_id

    async def _shipping_profile(self) -> str | None:
        """The configured shipping profile, else Medusa's default one: a product without a
        profile cannot be checked out with any shipping method."""
        if self._shipping_profile_id is None:
            body = await self.client.request(
                "GET", "/admin/shipping-profiles", params={"type": "default", "fields": "id"}
            )
            profiles = body.get("shipping_profiles") or []
            self._shipping_profile_id = str(profiles[0]["id"]) if profiles else None
        return self._shipping_profile_id

    # --- products ------------------------------------------------------------------------

    async def push_listings(self, listings: Sequence[Listing]) -> Accepted:
        notes = [await self._push_group(group) for group in mapping.product_groups(listings)]
        return Accepted(detail="; ".join(note for note in notes if note))

    async def _push_group(self, group: ProductGroup) -> str:
        product = await self._find_product(group)
        if product is None:
            body = mapping.product_body(
                group,
                sales_channel_id=await self._sales_channel(),
                shipping_profile_id=await self._shipping_profile(),
            )
            created = await self.client.request(
                "POST", "/admin/products", json=body, params={"fields": "id"}
            )
            return f"{group.handle}: product {created['product']['id']} created"
        product_id = str(product["id"])
        notes: list[str] = []
        variants = {str(v.get("sku")): v for v in product.get("variants") or []}
        standalone = group.model_sku is None
        if standalone and group.parent.sku not in variants and variants:
            # A model's own listing (its variants are listed already): content only.
            group = mapping.ProductGroup(group.handle, group.parent, ())
        changes = mapping.product_changes(group, product) if group.has_content else {}
        if changes:
            path = f"/admin/products/{product_id}"
            await self.client.request("POST", path, json=changes, params={"fields": "id"})
            notes.append(f"updated {', '.join(sorted(changes))}")
        missing = [listing for listing in group.variants if listing.sku not in variants]
        for listing in group.variants:
            found = variants.get(listing.sku)
            if found is None:
                continue
            variant_changes = mapping.variant_changes(listing, found)
            if variant_changes:
                path = f"/admin/products/{product_id}/variants/{found['id']}"
                await self.client.request(
                    "POST", path, json=variant_changes, params={"fields": "id"}
                )
                notes.append(f"{listing.sku} updated")
        if missing:
            await self._add_variants(product, missing)
            notes.append(f"added {', '.join(v.sku for v in missing)}")
        placeholder = variants.get(group.model_sku) if group.model_sku else None
        if placeholder is not None:
            # The model was listed before its variants, as a product of one variant: its
            # variants are there now, so that stand-in goes.
            await self.client.request(
                "DELETE",
                f"/admin/products/{product_id}/variants/{placeholder['id']}",
                params={"fields": "id"},
            )
            notes.append(f"placeholder variant {group.model_sku} removed")
        return f"{group.handle}: {'; '.join(notes)}" if notes else ""

    async def _find_product(self, group: ProductGroup) -> dict[str, Any] | None:
        """The product of ``group``: by its handle, else the product holding one of its SKUs
        (made in Medusa's admin before the hub listed it)."""
        found = await self.client.request(
            "GET",
            "/admin/products",
            params={"handle": group.handle, "fields": mapping.PRODUCT_FIELDS},
        )
        for product in found.get("products") or []:
            if product.get("handle") == group.handle:
                return dict(product)
        for listing in group.variants:
            variant = await self._variant(listing.sku, fields="id,sku,product_id")
            if variant is not None:
                adopted = await self.client.request(
                    "GET",
                    f"/admin/products/{variant['product_id']}",
                    params={"fields": mapping.PRODUCT_FIELDS},
                )
                return dict(adopted["product"])
        return None

    async def _add_variants(self, product: Mapping[str, Any], missing: Sequence[Listing]) -> None:
        """New variants of an existing product, after adding the option values they need
        (``POST /admin/products/{id}/options/batch``, Medusa 2.17 and later)."""
        product_id = str(product["id"])
        options = {str(o["title"]): o for o in product.get("options") or []}
        if not options:
            raise PermanentError(f"Medusa product {product_id} has no options to add variants by")
        chosen = {
            listing.sku: {title: _option_value(listing, title) for title in options}
            for listing in missing
        }
        updates = []
        for title, option in options.items():
            known = {str(v.get("value")) for v in option.get("values") or []}
            new = list(dict.fromkeys(c[title] for c in chosen.values() if c[title] not in known))
            if new:
                add = [{"value": value} for value in new]
                updates.append({"product_option_id": option["id"], "add": add})
        if updates:
            await self.client.request(
                "POST",
                f"/admin/products/{product_id}/options/batch",
                json={"update": updates},
                params={"fields": "id"},
            )
        for listing in missing:
            await self.client.request(
                "POST",
                f"/admin/products/{product_id}/variants",
                json=mapping.variant_body(listing, chosen[listing.sku]),
                params={"fields": "id"},
            )

    async def _variant(self, sku: str, *, fields: str) -> dict[str, Any] | None:
        """The variant whose SKU is ``sku`` (``q`` searches SKUs; we keep the exact match)."""
        offset = 0
        while True:  # q also matches longer SKUs (MUG-1 finds MUG-10): page until exact
            found = await self.client.request(
                "GET",
                "/admin/product-variants",
                params={"q": sku, "fields": fields, "limit": 100, "offset": offset},
            )
            page = found.get("variants") or []
            for variant in page:
                if variant.get("sku") == sku:
                    return dict(variant)
            offset += len(page)
            if not page or offset >= int(found.get("count") or 0):
                return None

    # --- prices --------------------------------------------------------------------------

    async def push_prices(self, prices: Sequence[ChannelPrice]) -> Accepted:
        notes: list[str] = []
        missing: list[str] = []
        for price in prices:
            mapping.check_price(price)
            if price.compare_at is not None:
                notes.append(f"{price.sku}: compare-at prices need a Medusa sale price list")
            variant = await self._variant(price.sku, fields="id,sku,product_id,*prices")
            if variant is None:
                missing.append(price.sku)
                continue
            existing = variant.get("prices") or []
            if mapping.current_amount(existing, price.currency) == price.amount:
                continue
            await self.client.request(
                "POST",
                f"/admin/products/{variant['product_id']}/variants/{variant['id']}",
                json={"prices": mapping.prices_with(existing, price)},
                params={"fields": "id"},
            )
        _raise_if_missing(missing, "price")
        return Accepted(detail="; ".join(notes))

    # --- stock ---------------------------------------------------------------------------

    async def push_stock(self, levels: Sequence[StockLevel]) -> Accepted:
        location = await self.stock_location()
        notes: list[str] = []
        missing: list[str] = []
        for level in levels:
            quantity = max(0, level.quantity)
            if quantity != level.quantity:
                notes.append(f"{level.sku}: {level.quantity} sent as 0")
            item = await self._inventory_item(level.sku)
            if item is None:
                missing.append(level.sku)
                continue
            found = _level_at(item, location)
            if found is None:
                await self.client.request(
                    "POST",
                    f"/admin/inventory-items/{item['id']}/location-levels",
                    json={"location_id": location, "stocked_quantity": quantity},
                    params={"fields": "id"},
                )
                continue
            reserved = int(mapping.to_decimal(found.get("reserved_quantity"), "reserved"))
            stocked = quantity + reserved
            if int(mapping.to_decimal(found.get("stocked_quantity"), "stocked")) != stocked:
                await self.client.request(
                    "POST",
                    f"/admin/inventory-items/{item['id']}/location-levels/{location}",
                    json={"stocked_quantity": stocked},
                    params={"fields": "id"},
                )
        _raise_if_missing(missing, "stock")
        return Accepted(detail="; ".join(notes))

    async def read_stock(self, skus: Sequence[str]) -> dict[str, int]:
        """What Medusa offers of each SKU at the connection's location (stocked - reserved)."""
        location = await self.stock_location()
        found: dict[str, int] = {}
        for sku in skus:
            item = await self._inventory_item(sku)
            level = _level_at(item, location) if item else None
            if level is not None:
                stocked = mapping.to_decimal(level.get("stocked_quantity"), "stocked")
                reserved = mapping.to_decimal(level.get("reserved_quantity"), "reserved")
                found[sku] = int(stocked - reserved)
        return found

    async def _inventory_item(self, sku: str) -> dict[str, Any] | None:
        """The SKU's inventory item with its location levels (always read fresh)."""
        fields = "id,sku,*location_levels"
        known = self._inventory_items.get(sku)
        if known is not None:
            body = await self.client.request(
                "GET", "/admin/inventory-items", params={"id": known, "fields": fields}
            )
        else:
            body = await self.client.request(
                "GET", "/admin/inventory-items", params={"sku": sku, "fields": fields}
            )
        for item in body.get("inventory_items") or []:
            if item.get("sku") == sku:
                self._inventory_items[sku] = str(item["id"])
                return dict(item)
        self._inventory_items.pop(sku, None)
        return None

    # --- orders --------------------------------------------------------------------------

    async def fetch_orders(self, cursor: str | None) -> OrderPage:
        """The orders created or changed since the cursor, oldest change first."""
        state = OrderCursor.parse(cursor)
        limit = self.settings.order_page_size
        body = await self.client.request("GET", "/admin/orders", params=state.params(limit))
        page = [o for o in body.get("orders") or [] if isinstance(o, Mapping)]
        orders = []
        for found in page:
            if not state.is_new(found):
                continue
            try:
                orders.append(mapping.order_from_medusa(found))
            except PermanentError as error:
                # One order the hub cannot read must not stop every later one: it is logged
                # (with why) for a person to handle in Medusa, and polling moves on.
                log.error("Medusa order %s not imported: %s", found.get("id"), error.message)
        return OrderPage(orders=tuple(orders), cursor=state.advance(page, limit).dump())

    async def _order(self, order_id: str) -> dict[str, Any]:
        body = await self.client.request(
            "GET", f"/admin/orders/{order_id}", params={"fields": mapping.ORDER_FIELDS}
        )
        return dict(body["order"])

    async def push_fulfilment(self, fulfilment: Fulfilment) -> Accepted:
        """Fulfil what the hub shipped and Medusa has not fulfilled yet (the hub sends the
        shipped total per line, so a repeat sends nothing), then mark it shipped with its
        tracking number."""
        order_id = fulfilment.external_order_id
        order = await self._order(order_id)
        if order.get("status") == "canceled":
            raise PermanentError(f"Medusa order {order_id} is canceled: nothing can ship")
        done = mapping.fulfilled_quantities(order)
        items = []
        for line in fulfilment.lines:
            if line.external_line_id not in done:
                raise PermanentError(
                    f"Medusa order {order_id} has no line {line.external_line_id} ({line.sku})"
                )
            remaining = line.quantity - done[line.external_line_id]
            if remaining > 0:
                items.append({"id": line.external_line_id, "quantity": remaining})
        if not items:
            return Accepted(detail=f"order {order_id}: already fulfilled in Medusa")
        location = await self.stock_location()
        created = await self.client.request(
            "POST",
            f"/admin/orders/{order_id}/fulfillments",
            json={"items": items, "location_id": location, "metadata": {}},
            params={"fields": "id,*fulfillments,*fulfillments.items"},
        )
        fulfillment_id = _newest_fulfillment(created.get("order") or {}, items)
        if fulfillment_id is None:
            return Accepted(detail=f"order {order_id}: fulfilment created (no id to ship)")
        shipment: dict[str, Any] = {"items": items, "metadata": {}}
        if fulfilment.tracking_number:
            shipment["labels"] = [
                {
                    "tracking_number": fulfilment.tracking_number,
                    "tracking_url": fulfilment.tracking_url or "",
                    "label_url": "",
                }
            ]
        await self.client.request(
            "POST",
            f"/admin/orders/{order_id}/fulfillments/{fulfillment_id}/shipments",
            json=shipment,
            params={"fields": "id"},
        )
        return Accepted(detail=f"order {order_id}: fulfilment {fulfillment_id} shipped")

    async def push_cancellation(self, cancellation: Cancellation) -> Accepted:
        """Cancel the whole order (Medusa cancels orders, not single lines)."""
        order_id = cancellation.external_order_id
        order = await self._order(order_id)
        if order.get("status") == "canceled":
            return Accepted(detail=f"order {order_id} was already canceled in Medusa")
        await self.client.request(
            "POST", f"/admin/orders/{order_id}/cancel", params={"fields": "id,status"}
        )
        return Accepted(detail=f"order {order_id} canceled in Medusa")


def _option_value(listing: Listing, title: str) -> str:
    """A new variant's value of an existing option: its own, else its SKU (always distinct)."""
    if title == mapping.FALLBACK_OPTION:
        return listing.sku
    return listing.options.get(title) or listing.sku


def _level_at(item: Mapping[str, Any] | None, location: str) -> Mapping[str, Any] | None:
    for level in (item or {}).get("location_levels") or []:
        if level.get("location_id") == location:
            return dict(level)
    return None


def _newest_fulfillment(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> str | None:
    """The fulfilment just made: the newest one that is not shipped yet."""
    candidates = [
        f
        for f in order.get("fulfillments") or []
        if not f.get("shipped_at") and not f.get("canceled_at")
    ]
    if not candidates:
        return None
    newest = max(candidates, key=lambda f: str(f.get("created_at") or ""))
    return str(newest["id"])


def _raise_if_missing(skus: list[str], what: str) -> None:
    if skus:
        raise TransientError(
            f"no Medusa variant yet for SKU {', '.join(skus)}: the {what} is sent once its "
            "listing is pushed",
            retry_after=WAIT_FOR_VARIANT_SECONDS,
        )
