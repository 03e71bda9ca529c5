"""The values a delivery sends, read from the hub at delivery time (never from the event), so
that a repeat, a replay or a coalesced job sends the truth of now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from channelhub.automation.service import is_on_hold
from channelhub.catalog.browse import ProductView, get_product
from channelhub.catalog.model import ProductKind
from channelhub.catalog.service import get_attribute, get_channel, get_family
from channelhub.connectors.base import (
    Cancellation,
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Listing,
    ModelListing,
    StockLevel,
)
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import NotFound
from channelhub.inventory.service import available
from channelhub.orders.model import OrderStatus
from channelhub.orders.service import find_order
from channelhub.pricing.service import resolve_many
from channelhub.sync.connections import ConnectionRecord
from channelhub.sync.jobs import newest_jobs
from channelhub.sync.mapping import map_listing, pick_value
from channelhub.sync.model import JobKind, JobState

#: What a job sends: a value per key; a key without a value, or with a ``NotSent``, is skipped
#: (with the reason).
Values = dict[str, Any]


def stock_levels(db: Database, record: ConnectionRecord, skus: Sequence[str]) -> Values:
    """Each SKU's available-to-promise on the connection's channel (its own pool when the
    channel is independent)."""
    return {sku: StockLevel(sku, qty) for sku, qty in available(db, record.channel, skus).items()}


def channel_prices(db: Database, record: ConnectionRecord, skus: Sequence[str]) -> Values:
    """Each SKU's effective price on the channel, in the channel's currency."""
    channel = get_channel(db, record.channel)
    with db.read() as conn:
        resolved = resolve_many(conn, channel.code, channel.currency, skus, utcnow())
    found: Values = {}
    for sku, price in resolved.items():
        compare_at = price.base_price if price.effective_price < price.base_price else None
        found[sku] = ChannelPrice(sku, price.effective_price, price.currency, compare_at)
    return found


@dataclass(frozen=True)
class NotSent:
    """A key that must not be sent to the connection's platform; its job is skipped with
    ``reason`` (shown in the sync monitor), never dead-lettered."""

    reason: str


def listing_of(db: Database, record: ConnectionRecord, sku: str) -> Listing:
    """The product as the connection's mapping shows it on its channel (a variant with its
    options; a model without its variants)."""
    return _listing(db, record, get_product(db, sku))


def _listing(db: Database, record: ConnectionRecord, product: ProductView) -> Listing:
    channel = get_channel(db, record.channel)
    locale = record.mapping.locale or (channel.locales[0] if channel.locales else None)
    values: dict[str, Any] = {}
    for source in (product.inherited, product.values):
        for code, scoped in source.items():
            picked = pick_value(
                [(v.locale, v.channel, v.data) for v in scoped], channel.code, locale
            )
            if picked is not None:
                values[code] = picked
    listing = map_listing(
        product.sku,
        values,
        product.categories,
        record.mapping,
        parent_sku=product.parent,
        on_hold=_is_on_hold(db, channel.code, product),
    )
    if product.kind == ProductKind.VARIANT.value and product.family is not None:
        listing = replace(listing, options=_options(db, record, product.family, values, locale))
    return listing


def _options(
    db: Database,
    record: ConnectionRecord,
    family: str,
    values: Mapping[str, Any],
    locale: str | None,
) -> dict[str, str]:
    """A variant's values on its family's variant axes, named by each axis's label in the
    locale (its code without one) and renamed by the mapping's value maps."""
    options: dict[str, str] = {}
    for axis in get_family(db, family).variant_axes:
        value = values.get(axis)
        if value is None:
            continue
        attribute = get_attribute(db, axis)
        name = (attribute.labels.get(locale) if locale else None) or axis
        options[name] = str(record.mapping.values.get(axis, {}).get(str(value), value))
    return options


def _is_on_hold(db: Database, channel: str, product: ProductView) -> bool:
    """Whether the channel must not sell the product. A model has no completeness of its own
    (only sellable products are checked): it is on hold when every variant is."""
    if product.kind == ProductKind.MODEL.value:
        return all(_is_on_hold(db, channel, get_product(db, sku)) for sku in product.variants)
    return channel not in product.publishable_on or _held(db, channel, product.sku)


def _held(db: Database, channel: str, sku: str) -> bool:
    """Whether an automation rule holds the SKU's offer on the channel (low stock, say)."""
    with db.read() as conn:
        return is_on_hold(conn, channel, sku)


def listings(db: Database, record: ConnectionRecord, skus: Sequence[str]) -> Values:
    """Each SKU's listing, with its effective price on the channel attached (platforms such
    as bol.com cannot create an offer without one). Product models follow the connector's
    ``models`` declaration: skipped, sent alone, or sent with all their variants."""
    prices = channel_prices(db, record, skus)
    families: dict[str, Listing | NotSent] = {}  # model SKU -> its family, read once a batch
    found: Values = {}
    for sku in skus:
        try:
            found[sku] = _sendable(db, record, get_product(db, sku), prices, families)
        except NotFound:
            continue
    return found


def _sendable(
    db: Database,
    record: ConnectionRecord,
    product: ProductView,
    prices: Values,
    families: dict[str, Listing | NotSent],
) -> Listing | NotSent:
    models = record.connector_class.models
    is_model = product.kind == ProductKind.MODEL.value
    if models is ModelListing.WITH_VARIANTS and (is_model or product.parent is not None):
        # The platform replaces a product's variant list as a whole: send the family.
        model_sku = product.parent or product.sku
        if model_sku not in families:
            model = get_product(db, model_sku) if product.parent else product
            families[model_sku] = _family(db, record, model)
        return families[model_sku]
    if models is ModelListing.NOT_LISTED and is_model:
        names = ", ".join(product.variants) or "none yet"
        return NotSent(
            f"{product.sku} is a product model: {record.platform} lists each sellable variant "
            f"as an offer of its own ({names}), never the model"
        )
    return replace(_listing(db, record, product), price=prices.get(product.sku))


def _family(db: Database, record: ConnectionRecord, model: ProductView) -> Listing | NotSent:
    """A model's listing with every variant's, each with its options and price."""
    if not model.variants:
        return NotSent(
            f"{model.sku} is a product model without variants: nothing to sell on "
            f"{record.platform} until a variant is added"
        )
    prices = channel_prices(db, record, model.variants)
    variants = tuple(
        replace(_listing(db, record, get_product(db, sku)), price=prices.get(sku))
        for sku in model.variants
    )
    return replace(_listing(db, record, model), variants=variants)


def dead_listings(db: Database, connection_id: int, skus: Sequence[str]) -> dict[str, str]:
    """The SKUs whose newest listing job on the connection gave up (a dead letter), with its
    error: the platform has no listing to hold their stock and price, so sending those only
    fails until the listing is fixed and replayed."""
    with db.read() as conn:
        newest = newest_jobs(conn, connection_id, (JobKind.LISTINGS,), skus)
    return {
        key: error or "no error recorded"
        for (_, key), (state, error) in newest.items()
        if state == JobState.DEAD.value
    }


def order_updates(db: Database, record: ConnectionRecord, external_ids: Sequence[str]) -> Values:
    """A Fulfilment for shipped orders, a Cancellation for cancelled ones; nothing otherwise.
    Lines are named by the channel's own line ids, kept since the order came in."""
    found: Values = {}
    for external_id in external_ids:
        try:
            order = find_order(db, record.channel, external_id)
        except NotFound:
            continue
        if order.status in (OrderStatus.SHIPPED, OrderStatus.PARTIALLY_SHIPPED):
            last = order.shipments[-1] if order.shipments else {}
            found[external_id] = Fulfilment(
                external_id,
                tuple(
                    FulfilmentLine(
                        line.external_line_id or str(line.line_no), line.sku, line.shipped
                    )
                    for line in order.lines
                    if line.shipped
                ),
                # A shipment records one tracking code (orders.fulfilment.ship).
                tracking_number=last.get("tracking") or None,
            )
        elif order.status == OrderStatus.CANCELLED:
            found[external_id] = Cancellation(
                external_id,
                tuple(line.external_line_id or str(line.line_no) for line in order.lines),
                "cancelled",
            )
    return found


def current_values(
    db: Database, record: ConnectionRecord, kind: JobKind, keys: Sequence[str]
) -> Values:
    if kind == JobKind.STOCK:
        return stock_levels(db, record, keys)
    if kind == JobKind.PRICES:
        return channel_prices(db, record, keys)
    if kind == JobKind.LISTINGS:
        return listings(db, record, keys)
    if kind == JobKind.FULFILMENTS:
        return order_updates(db, record, keys)
    return {}
