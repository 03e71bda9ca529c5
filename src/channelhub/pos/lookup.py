"""Product lookup at the till: a product by SKU or GTIN with its title and price on the store's
channel, an image, and its stock at every location, this store first."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from channelhub.catalog.browse import ProductFilter, get_product, list_products
from channelhub.core.database import Database
from channelhub.core.errors import NotFound
from channelhub.inventory import service as inventory
from channelhub.pos.stores import get_store
from channelhub.pricing.service import resolve
from channelhub.sync.mapping import MappingSpec, map_listing, pick_value


@dataclass(frozen=True)
class LocationStock:
    location: str
    name: str
    kind: str
    on_hand: int
    reserved: int
    available: int
    is_this_store: bool


@dataclass(frozen=True)
class ProductLookup:
    sku: str
    title: str
    gtin: str | None
    image: str | None
    price: Decimal | None
    currency: str
    stock: list[LocationStock] = field(default_factory=list)


def _find_sku(db: Database, code: str) -> str:
    """The SKU that ``code`` names, as a SKU or as a GTIN of a product."""
    try:
        return get_product(db, code).sku
    except NotFound:
        pass
    if code.isdigit() and 8 <= len(code) <= 14:
        page = list_products(db, ProductFilter(q=code), limit=50)
        for product in page.items:
            gtins = [v.data for v in product.values.get("gtin", [])]
            if any(str(g).lstrip("0") == code.lstrip("0") for g in gtins):
                return product.sku
    raise NotFound(f"no product has the SKU or GTIN {code!r}")


def lookup_product(db: Database, store_code: str, code: str) -> ProductLookup:
    """A product by SKU or GTIN: its title and price on the store's channel, its first image,
    and its stock at every location (this store first)."""
    shop = get_store(db, store_code)
    sku = _find_sku(db, code)
    product = get_product(db, sku)
    channel = shop.channel
    locale = channel.locales[0] if channel.locales else None
    values: dict[str, Any] = {}
    for source in (product.inherited, product.values):
        for name, scoped in source.items():
            options = [(v.locale, v.channel, v.data) for v in scoped]
            picked = pick_value(options, channel.code, locale)
            if picked is not None:
                values[name] = picked
    listing = map_listing(sku, values, product.categories, MappingSpec())
    try:
        price: Decimal | None = resolve(db, sku, channel.code).effective_price
    except NotFound:
        price = None
    totals: dict[str, list[int]] = {}
    for level in inventory.stock_levels(db, sku=sku, limit=10_000):
        entry = totals.setdefault(level.location, [0, 0, 0])
        entry[0] += level.on_hand
        entry[1] += level.reserved
        entry[2] += level.sellable
    places = {p.code: p for p in inventory.list_locations(db)}
    totals.setdefault(shop.location.code, [0, 0, 0])
    stock = [
        LocationStock(
            code,
            places[code].name,
            places[code].kind.value,
            on_hand,
            reserved,
            available,
            code == shop.location.code,
        )
        for code, (on_hand, reserved, available) in totals.items()
        if code in places
    ]
    stock.sort(key=lambda s: (not s.is_this_store, -s.available, s.location))
    return ProductLookup(
        sku=sku,
        title=listing.title,
        gtin=listing.gtin,
        image=listing.images[0] if listing.images else None,
        price=price,
        currency=channel.currency,
        stock=stock,
    )
