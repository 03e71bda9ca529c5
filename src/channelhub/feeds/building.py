"""Feed items from catalog products: values per locale and channel, the channel's effective
price (the pricing module's one resolution function) and its available-to-promise.

Pure: the caller reads rows, stock positions and categories; this module only shapes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channelhub.catalog.model import effective_values
from channelhub.catalog.snapshot import Channel
from channelhub.feeds.model import LIST_SEPARATOR, Feed, FeedKind, LinkTemplate, encode_url
from channelhub.feeds.store import ProductRow
from channelhub.inventory.model import StockPosition, available_to_promise
from channelhub.inventory.service import pool_of
from channelhub.pricing.model import (
    PriceContext,
    PriceEntry,
    Promotion,
    SalePrice,
    from_minor_units,
    resolve_price,
)

#: How many additional images each kind takes (Google 10, Meta 20).
MAX_ADDITIONAL_IMAGES = {FeedKind.GOOGLE_PRODUCTS: 10, FeedKind.META_CATALOG: 20}


@dataclass(frozen=True)
class Category:
    code: str
    path: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class Store:
    id: int
    code: str


@dataclass(frozen=True)
class BuildContext:
    """What a generation reads once: the channel, its currency, buffer, promotions, stores."""

    channel_record: Channel
    channel_id: int
    channel: str
    currency: str
    buffer: int
    at: datetime
    promotions: tuple[Promotion, ...]
    categories: Mapping[str, Category]
    stores: tuple[Store, ...] = ()


@dataclass(frozen=True)
class ForeignPrice:
    """A product's row in another of the channel's price lists (another currency): read when
    the channel's own list has no row, so the report can say the currency is wrong."""

    currency: str
    base_minor: int
    sale_minor: int | None
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None


#: (price, sale_price, sale_price_effective_date) as feed text.
PriceText = tuple[str, str, str]


def effective_date(start: datetime | None, end: datetime | None, at: datetime) -> str:
    """An ISO 8601 interval (answer/6324460), in UTC; empty without an end."""
    if end is None:
        return ""
    return f"{(start or at).strftime('%Y-%m-%dT%H:%M+0000')}/{end.strftime('%Y-%m-%dT%H:%M+0000')}"


@dataclass(frozen=True)
class BuiltItem:
    key: str
    product_id: int
    values: tuple[str, ...]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict) and "amount" in value:
        return f"{value['amount']} {value.get('unit', value.get('currency', ''))}".strip()
    return str(value)


class ItemBuilder:
    """Builds the items of one feed; create one per generation."""

    def __init__(self, feed: Feed, context: BuildContext) -> None:
        self.feed = feed
        self.context = context
        self.kind = feed.kind
        self.locale = feed.locale
        self.channel = context.channel
        self.channel_record = context.channel_record
        self.channel_id = context.channel_id
        self.pool = pool_of(context.channel_record)
        settings = feed.settings
        self.link = LinkTemplate(settings.link_template)
        self.image_base = (settings.image_base_url or "").rstrip("/")
        self.value_labels = settings.values
        self.category_map = settings.categories
        self.default_condition = settings.default_condition
        self.fields = {
            name: settings.attributes_for(name)
            for name in (
                "title",
                "description",
                "brand",
                "gtin",
                "mpn",
                "images",
                "color",
                "size",
                "condition",
            )
        }
        self.max_images = MAX_ADDITIONAL_IMAGES.get(feed.kind, 10)
        channel, locale = context.channel, feed.locale
        self._scope_keys = (f"{channel}|{locale}", f"*|{locale}", f"{channel}|*", "*|*")
        self._product_types: dict[str, str] = {}
        self._prices: dict[tuple[Any, ...], PriceText] = {}

    # --- values -------------------------------------------------------------------------

    def _value(self, values: Mapping[str, Mapping[str, Any]], name: str) -> Any:
        """The first non-empty attribute of the field, at the most specific scope: the order of
        ``catalog.model.resolve`` (channel and locale, locale, channel, neither)."""
        keys = self._scope_keys
        for attribute in self.fields[name]:
            scopes = values.get(attribute)
            if not scopes:
                continue
            found = None
            for key in keys:
                found = scopes.get(key)
                if found is not None:
                    break
            if found is not None and found != "" and found != []:
                labels = self.value_labels.get(attribute)
                if labels and isinstance(found, str):
                    return labels.get(found, found)
                return found
        return None

    def _image(self, reference: str) -> str:
        if not reference.startswith(("http://", "https://")) and self.image_base:
            reference = f"{self.image_base}/{reference.lstrip('/')}"
        return encode_url(reference, image=True)

    def _category_fields(self, paths: Sequence[str]) -> tuple[str, str]:
        """google_product_category (the deepest mapped category) and product_type."""
        if not paths:
            return "", ""
        deepest = max(paths, key=len)
        google = ""
        for path in sorted(paths, key=len, reverse=True):
            for code in reversed(path.strip("/").split("/")):
                if code in self.category_map:
                    google = self.category_map[code]
                    break
            if google:
                break
        product_type = self._product_types.get(deepest)
        if product_type is None:
            labels = []
            for code in deepest.strip("/").split("/"):
                category = self.context.categories.get(code)
                label = category.labels.get(self.locale) if category else None
                labels.append(label or code)
            product_type = self._product_types[deepest] = " > ".join(labels)
        return google, product_type

    # --- prices and stock ---------------------------------------------------------------

    def price_of(
        self, row: ProductRow, paths: Sequence[str], foreign: ForeignPrice | None = None
    ) -> PriceText:
        """(price, sale_price, sale_price_effective_date) as feed text: the effective channel
        price, and the base price with it as sale price when a sale or promotion lowers it.
        Without a row in the channel's list, the row of another of its lists (``foreign``),
        whose currency the rules then refuse by name."""
        if row.base_minor is None:
            if foreign is None:
                return "", "", ""
            return self._resolve_price(
                row.sku,
                foreign.currency,
                foreign.base_minor,
                foreign.sale_minor,
                foreign.sale_starts_at,
                foreign.sale_ends_at,
                paths,
            )
        # Without promotions the resolution depends on the price row alone: resolve each
        # distinct row once (catalogs share price points).
        key = (row.base_minor, row.sale_minor, row.sale_starts_at, row.sale_ends_at)
        if not self.context.promotions:
            cached = self._prices.get(key)
            if cached is not None:
                return cached
        found = self._resolve_price(
            row.sku,
            self.context.currency,
            row.base_minor,
            row.sale_minor,
            row.sale_starts_at,
            row.sale_ends_at,
            paths,
        )
        if not self.context.promotions and len(self._prices) < 100_000:
            self._prices[key] = found
        return found

    def _resolve_price(
        self,
        sku: str,
        currency: str,
        base_minor: int,
        sale_minor: int | None,
        starts_at: datetime | None,
        ends_at: datetime | None,
        paths: Sequence[str],
    ) -> PriceText:
        sale = (
            SalePrice(from_minor_units(sale_minor, currency), starts_at, ends_at)
            if sale_minor is not None
            else None
        )
        entry = PriceEntry(sku, currency, from_minor_units(base_minor, currency), sale)
        context = PriceContext(sku, self.channel, self.context.at, None, tuple(paths))
        resolution = resolve_price(entry, context, self.context.promotions)
        effective = f"{resolution.effective_price} {currency}"
        if resolution.effective_price < resolution.base_price:
            # The sale's own window when the row's sale sets the price (promotions' periods
            # are not the item's to announce: they are re-resolved at every publication).
            dates = ""
            if resolution.sale_price is not None and not resolution.applied:
                dates = effective_date(starts_at, ends_at, self.context.at)
            return f"{resolution.base_price} {currency}", effective, dates
        return effective, "", ""

    # --- items --------------------------------------------------------------------------

    def build(
        self,
        rows: Sequence[ProductRow],
        positions: Mapping[str, list[StockPosition]],
        category_paths: Mapping[int, list[str]],
        foreign: Mapping[str, ForeignPrice] | None = None,
    ) -> list[BuiltItem]:
        """The items of a chunk of products (local inventory: one per store that stocks it)."""
        foreign = foreign or {}
        if self.kind is FeedKind.GOOGLE_LOCAL_INVENTORY:
            return self._local_items(rows, positions, category_paths, foreign)
        items = []
        for row in rows:
            items.append(
                self._product_item(
                    row, positions.get(row.sku, ()), category_paths, foreign.get(row.sku)
                )
            )
        return items

    def _product_item(
        self,
        row: ProductRow,
        positions: Sequence[StockPosition],
        category_paths: Mapping[int, list[str]],
        foreign: ForeignPrice | None = None,
    ) -> BuiltItem:
        values = effective_values(row.values, row.parent_values)
        paths = category_paths.get(row.id, ())
        price, sale_price, sale_dates = self.price_of(row, paths, foreign)
        in_stock = available_to_promise(positions, self.context.buffer) > 0
        images = self._value(values, "images")
        image_list = [self._image(str(i)) for i in images] if isinstance(images, list) else []
        if isinstance(images, str) and images:
            image_list = [self._image(images)]
        image_link = image_list[0] if image_list else ""
        additional = LIST_SEPARATOR.join(image_list[1 : 1 + self.max_images])
        gtin = _text(self._value(values, "gtin"))
        mpn = _text(self._value(values, "mpn"))
        brand = _text(self._value(values, "brand"))
        condition = _text(self._value(values, "condition")) or self.default_condition
        google_category, product_type = self._category_fields(paths)
        link = encode_url(self.link.render(row.sku, row.parent_sku, self.locale))
        title = _text(self._value(values, "title"))
        description = _text(self._value(values, "description"))
        color = _text(self._value(values, "color"))
        size = _text(self._value(values, "size"))
        group = row.parent_sku or ""
        if self.kind is FeedKind.GOOGLE_PRODUCTS:
            item: tuple[str, ...] = (
                row.sku,
                group,
                title,
                description,
                link,
                image_link,
                additional,
                "in_stock" if in_stock else "out_of_stock",
                price,
                sale_price,
                sale_dates,
                brand,
                gtin,
                mpn,
                "" if gtin or mpn else "no",
                condition,
                google_category,
                product_type,
                color,
                size,
            )
        else:
            item = (
                row.sku,
                title,
                description,
                "in stock" if in_stock else "out of stock",
                condition,
                price,
                link,
                image_link,
                brand,
                additional,
                sale_price,
                sale_dates,
                group,
                gtin,
                mpn,
                google_category,
                color,
                size,
            )
        return BuiltItem(row.sku, row.id, item)

    def _local_items(
        self,
        rows: Sequence[ProductRow],
        positions: Mapping[str, list[StockPosition]],
        category_paths: Mapping[int, list[str]],
        foreign: Mapping[str, ForeignPrice],
    ) -> list[BuiltItem]:
        stores = {store.id: store.code for store in self.context.stores}
        items = []
        for row in rows:
            at_stores = [p for p in positions.get(row.sku, ()) if p.location_id in stores]
            if not at_stores:
                continue
            price, sale_price, sale_dates = self.price_of(
                row, category_paths.get(row.id, ()), foreign.get(row.sku)
            )
            for position in sorted(at_stores, key=lambda p: stores[p.location_id]):
                code = stores[position.location_id]
                quantity = position.sellable
                items.append(
                    BuiltItem(
                        f"{code}|{row.sku}",
                        row.id,
                        (
                            code,
                            row.sku,
                            str(quantity),
                            price,
                            sale_price,
                            sale_dates,
                            "in_stock" if quantity > 0 else "out_of_stock",
                        ),
                    )
                )
        return items
