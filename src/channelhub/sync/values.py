"""The values a delivery sends, read from the hub at delivery time (never from the event), so
that a repeat, a replay or a coalesced job sends the truth of now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from channelhub.automation.service import is_on_hold
from channelhub.catalog.browse import get_product
from channelhub.catalog.service import get_channel
from channelhub.connectors.base import (
    Cancellation,
    ChannelPrice,
    Fulfilment,
    FulfilmentLine,
    Listing,
    StockLevel,
)
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import NotFound
from channelhub.inventory.service import available
from channelhub.orders.model import OrderStatus
from channelhub.orders.service import find_order
from channelhub.pricing.service import resolve_many
from channelhub.sync.connections import ConnectionRecord
from channelhub.sync.mapping import map_listing, pick_value
from channelhub.sync.model import JobKind

#: What a job sends: a value per key; a key without a value is skipped (with the reason).
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


def listing_of(db: Database, record: ConnectionRecord, sku: str) -> Listing:
    """The product as the connection's mapping shows it on its channel."""
    channel = get_channel(db, record.channel)
    product = get_product(db, sku)
    locale = record.mapping.locale or (channel.locales[0] if channel.locales else None)
    values: dict[str, Any] = {}
    for source in (product.inherited, product.values):
        for code, scoped in source.items():
            picked = pick_value(
                [(v.locale, v.channel, v.data) for v in scoped], channel.code, locale
            )
            if picked is not None:
                values[code] = picked
    return map_listing(
        sku,
        values,
        product.categories,
        record.mapping,
        parent_sku=product.parent,
        on_hold=channel.code not in product.publishable_on or _held(db, channel.code, sku),
    )


def _held(db: Database, channel: str, sku: str) -> bool:
    """Whether an automation rule holds the SKU's offer on the channel (low stock, say)."""
    with db.read() as conn:
        return is_on_hold(conn, channel, sku)


def listings(db: Database, record: ConnectionRecord, skus: Sequence[str]) -> Values:
    """Each SKU's listing, with its effective price on the channel attached (platforms such
    as bol.com cannot create an offer without one)."""
    prices = channel_prices(db, record, skus)
    found: Values = {}
    for sku in skus:
        try:
            found[sku] = replace(listing_of(db, record, sku), price=prices.get(sku))
        except NotFound:
            continue
    return found


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
