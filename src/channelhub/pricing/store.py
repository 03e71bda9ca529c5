"""Pricing tables and the set-based queries over them.

Money is stored as integer minor units (cents) next to its currency, percentages as integer
hundredths of a percent: exact on SQLite and PostgreSQL alike, never a float.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    or_,
    select,
    union,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from channelhub.catalog import store as catalog
from channelhub.core.database import BigId, JsonType, UtcDateTime, metadata
from channelhub.pricing.model import (
    ParityRule,
    PriceEntry,
    Promotion,
    PromotionKind,
    SalePrice,
    from_minor_units,
    to_minor_units,
)

#: The catalog's channels, read-only: price lists and parity rules name channels by code.
channels = catalog.channels

#: Lookups by SKU go in chunks of this many, to stay below every driver's parameter limit.
CHUNK = 500

price_lists = Table(
    "price_lists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("channel_id", "currency"),
)

prices = Table(
    "prices",
    metadata,
    Column("id", BigId, primary_key=True),
    Column(
        "price_list_id",
        Integer,
        ForeignKey("price_lists.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("sku", String(100), nullable=False),
    Column("base_minor", BigInteger, nullable=False),
    Column("sale_minor", BigInteger, nullable=True),
    Column("sale_starts_at", UtcDateTime(), nullable=True),
    Column("sale_ends_at", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("price_list_id", "sku"),
    Index("ix_prices_sku", "sku"),
)

promotions = Table(
    "promotions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("percent_hundredths", Integer, nullable=True),
    Column("amount_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("skus", JsonType, nullable=False),
    Column("categories", JsonType, nullable=False),
    Column("channels", JsonType, nullable=False),
    Column("segments", JsonType, nullable=False),
    Column("starts_at", UtcDateTime(), nullable=True),
    Column("ends_at", UtcDateTime(), nullable=True),
    Column("is_stackable", Boolean, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("applies_to_sale_items", Boolean, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

parity_rules = Table(
    "parity_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column(
        "other_channel_id",
        Integer,
        ForeignKey("channels.id", ondelete="CASCADE"),
        nullable=True,
    ),
    # "bol|web" for a pair (codes sorted), "bol|*" for one channel against any other.
    Column("pair_key", String(210), nullable=False, unique=True),
    Column("max_percent_hundredths", Integer, nullable=True),
    Column("max_amount_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)


# --- conversions --------------------------------------------------------------------------


def percent_to_hundredths(value: Decimal) -> int:
    return int(value * 100)


def percent_from_hundredths(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(Decimal("0.01"))


def entry_from_row(row: Row[Any]) -> PriceEntry:
    currency = row.currency
    sale = None
    if row.sale_minor is not None:
        sale = SalePrice(
            from_minor_units(row.sale_minor, currency), row.sale_starts_at, row.sale_ends_at
        )
    return PriceEntry(row.sku, currency, from_minor_units(row.base_minor, currency), sale)


def promotion_from_row(row: Row[Any]) -> Promotion:
    kind = PromotionKind(row.kind)
    if kind is PromotionKind.PERCENTAGE:
        value = percent_from_hundredths(row.percent_hundredths)
    else:
        value = from_minor_units(row.amount_minor, row.currency)
    return Promotion(
        code=row.code,
        kind=kind,
        value=value,
        name=row.name,
        currency=row.currency,
        skus=frozenset(row.skus),
        categories=frozenset(row.categories),
        channels=frozenset(row.channels),
        segments=frozenset(row.segments),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        is_stackable=bool(row.is_stackable),
        priority=row.priority,
        applies_to_sale_items=bool(row.applies_to_sale_items),
        is_active=bool(row.is_active),
    )


def promotion_values(promotion: Promotion) -> dict[str, Any]:
    """The promotion's columns (without id and timestamps)."""
    is_percentage = promotion.kind is PromotionKind.PERCENTAGE
    return {
        "code": promotion.code,
        "name": promotion.name,
        "kind": promotion.kind.value,
        "percent_hundredths": percent_to_hundredths(promotion.value) if is_percentage else None,
        "amount_minor": (
            None
            if is_percentage or promotion.currency is None
            else to_minor_units(promotion.value, promotion.currency)
        ),
        "currency": None if is_percentage else promotion.currency,
        "skus": sorted(promotion.skus),
        "categories": sorted(promotion.categories),
        "channels": sorted(promotion.channels),
        "segments": sorted(promotion.segments),
        "starts_at": promotion.starts_at,
        "ends_at": promotion.ends_at,
        "is_stackable": promotion.is_stackable,
        "priority": promotion.priority,
        "applies_to_sale_items": promotion.applies_to_sale_items,
        "is_active": promotion.is_active,
    }


# --- queries ------------------------------------------------------------------------------


def price_rows() -> Any:
    return select(
        prices.c.id,
        prices.c.sku,
        prices.c.base_minor,
        prices.c.sale_minor,
        prices.c.sale_starts_at,
        prices.c.sale_ends_at,
        prices.c.updated_at,
        price_lists.c.id.label("price_list_id"),
        price_lists.c.code.label("price_list"),
        price_lists.c.currency,
        catalog.channels.c.code.label("channel"),
    ).select_from(
        prices.join(price_lists, price_lists.c.id == prices.c.price_list_id).join(
            catalog.channels, catalog.channels.c.id == price_lists.c.channel_id
        )
    )


def load_entries(
    conn: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[PriceEntry]]:
    """Every price (one per currency) of each (channel code, sku) in ``keys``."""
    by_sku: dict[str, set[str]] = defaultdict(set)
    for channel, sku in keys:
        by_sku[sku].add(channel)
    found: dict[tuple[str, str], list[PriceEntry]] = defaultdict(list)
    skus = sorted(by_sku)
    channels = sorted(set().union(*by_sku.values())) if by_sku else []
    for start in range(0, len(skus), CHUNK):
        chunk = skus[start : start + CHUNK]
        query = price_rows().where(prices.c.sku.in_(chunk), catalog.channels.c.code.in_(channels))
        for row in conn.execute(query):
            if row.channel in by_sku[row.sku]:
                found[(row.channel, row.sku)].append(entry_from_row(row))
    return found


def category_paths(conn: Connection, skus: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The category paths of each SKU, its model's categories included (read-only catalog)."""
    products, links, categories = catalog.products, catalog.product_categories, catalog.categories
    parent = products.alias("parent")
    found: dict[str, set[str]] = defaultdict(set)
    unique = sorted(set(skus))
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        own = (
            select(products.c.sku, categories.c.path)
            .select_from(
                products.join(links, links.c.product_id == products.c.id).join(
                    categories, categories.c.id == links.c.category_id
                )
            )
            .where(products.c.sku.in_(chunk))
        )
        inherited = (
            select(products.c.sku, categories.c.path)
            .select_from(
                products.join(parent, parent.c.id == products.c.parent_id)
                .join(links, links.c.product_id == parent.c.id)
                .join(categories, categories.c.id == links.c.category_id)
            )
            .where(products.c.sku.in_(chunk))
        )
        for sku, path in conn.execute(union(own, inherited)):
            found[sku].add(path)
    return {sku: tuple(sorted(paths)) for sku, paths in found.items()}


def existing_skus(conn: Connection, skus: Sequence[str]) -> set[str]:
    """Which of ``skus`` are products in the catalog (read-only)."""
    present: set[str] = set()
    unique = sorted(set(skus))
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        present.update(
            conn.execute(
                select(catalog.products.c.sku).where(catalog.products.c.sku.in_(chunk))
            ).scalars()
        )
    return present


def load_promotions(conn: Connection) -> list[Promotion]:
    return [
        promotion_from_row(r) for r in conn.execute(select(promotions).order_by(promotions.c.code))
    ]


def keys_in_scope(conn: Connection, scopes: Sequence[Promotion]) -> set[tuple[str, str]]:
    """Every priced (channel code, sku) that any of ``scopes`` could reach."""
    conditions: list[ColumnElement[bool]] = []
    for promotion in scopes:
        parts: list[ColumnElement[bool]] = []
        if promotion.channels:
            parts.append(catalog.channels.c.code.in_(sorted(promotion.channels)))
        if promotion.skus:
            parts.append(prices.c.sku.in_(sorted(promotion.skus)))
        if promotion.categories:
            parts.append(prices.c.sku.in_(_skus_in_categories(promotion.categories)))
        if promotion.kind is PromotionKind.FIXED_AMOUNT and promotion.currency:
            parts.append(price_lists.c.currency == promotion.currency)
        conditions.append(and_(*parts) if parts else prices.c.id.is_not(None))
    if not conditions:
        return set()
    query = price_rows().where(or_(*conditions))
    return {(r.channel, r.sku) for r in conn.execute(query)}


def _skus_in_categories(codes: Iterable[str]) -> Any:
    """SKUs in any of the categories' subtrees, directly or through their model."""
    products, links, categories = catalog.products, catalog.product_categories, catalog.categories
    in_tree = or_(
        *(categories.c.path.contains(f"/{code}/", autoescape=True) for code in sorted(codes))
    )
    linked = (
        select(links.c.product_id)
        .join(categories, categories.c.id == links.c.category_id)
        .where(in_tree)
    )
    return select(products.c.sku).where(
        or_(products.c.id.in_(linked), products.c.parent_id.in_(linked))
    )


def boundary_keys(conn: Connection, since: datetime, until: datetime) -> set[tuple[str, str]]:
    """Priced (channel, sku) whose sale starts or ends in ``(since, until]``."""
    in_window = or_(
        and_(prices.c.sale_starts_at > since, prices.c.sale_starts_at <= until),
        and_(prices.c.sale_ends_at > since, prices.c.sale_ends_at <= until),
    )
    query = price_rows().where(prices.c.sale_minor.is_not(None), in_window)
    return {(r.channel, r.sku) for r in conn.execute(query)}


def parity_rule_from_row(row: Row[Any]) -> ParityRule:
    return ParityRule(
        channel=row.channel,
        other_channel=row.other_channel,
        max_percent=(
            None
            if row.max_percent_hundredths is None
            else percent_from_hundredths(row.max_percent_hundredths)
        ),
        max_amount=(
            None
            if row.max_amount_minor is None
            else from_minor_units(row.max_amount_minor, row.currency)
        ),
        currency=row.currency,
    )


def parity_rule_rows() -> Any:
    channel = catalog.channels.alias("channel")
    other = catalog.channels.alias("other")
    return select(
        parity_rules.c.id,
        parity_rules.c.max_percent_hundredths,
        parity_rules.c.max_amount_minor,
        parity_rules.c.currency,
        channel.c.code.label("channel"),
        other.c.code.label("other_channel"),
    ).select_from(
        parity_rules.join(channel, channel.c.id == parity_rules.c.channel_id).outerjoin(
            other, other.c.id == parity_rules.c.other_channel_id
        )
    )


# The moment up to which scheduled price changes (sales and promotions starting or ending)
# have been announced; one row, moved forward by ``announce_scheduled_changes``.
pricing_clock = Table(
    "pricing_clock",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("announced_until", UtcDateTime(), nullable=False),
)


def existing_categories(conn: Connection, codes: Iterable[str]) -> set[str]:
    """Which of ``codes`` are catalog categories (read-only)."""
    wanted = sorted(set(codes))
    if not wanted:
        return set()
    query = select(catalog.categories.c.code).where(catalog.categories.c.code.in_(wanted))
    return set(conn.execute(query).scalars())


def existing_channels(conn: Connection, codes: Iterable[str]) -> set[str]:
    wanted = sorted(set(codes))
    if not wanted:
        return set()
    return set(conn.execute(select(channels.c.code).where(channels.c.code.in_(wanted))).scalars())


def priced_skus(
    conn: Connection, channel_codes: Sequence[str], after: str, limit: int
) -> list[str]:
    """The next ``limit`` SKUs (in order, after ``after``) priced on any of the channels."""
    query = (
        select(prices.c.sku)
        .join(price_lists, price_lists.c.id == prices.c.price_list_id)
        .join(channels, channels.c.id == price_lists.c.channel_id)
        .where(channels.c.code.in_(list(channel_codes)), prices.c.sku > after)
        .group_by(prices.c.sku)
        .order_by(prices.c.sku)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())
