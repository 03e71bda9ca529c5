"""Reading the catalog: one product with its completeness, search with filters, history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from channelhub.catalog import store
from channelhub.catalog.model import JsonValue, ProductKind, Status, split_scope
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput, NotFound
from channelhub.core.pagination import decode_cursor, encode_cursor


@dataclass(frozen=True)
class ScopedValue:
    locale: str | None
    channel: str | None
    data: JsonValue


@dataclass(frozen=True)
class CompletenessView:
    channel: str
    locale: str
    required: int
    satisfied: int
    ratio: int
    is_complete: bool
    missing: list[dict[str, str]]


@dataclass
class ProductView:
    sku: str
    kind: str
    parent: str | None
    family: str | None
    status: str
    categories: list[str]
    values: dict[str, list[ScopedValue]]
    inherited: dict[str, list[ScopedValue]]
    completeness: list[CompletenessView]
    publishable_on: list[str]
    variants: list[str]
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ProductFilter:
    family: str | None = None
    category: str | None = None
    status: Status | None = None
    kind: ProductKind | None = None
    channel: str | None = None
    locale: str | None = None
    complete: bool | None = None
    publishable: bool | None = None
    q: str | None = None


@dataclass
class ProductPage:
    items: list[ProductView] = field(default_factory=list)
    next_cursor: str | None = None


def scoped(values: dict[str, dict[str, JsonValue]]) -> dict[str, list[ScopedValue]]:
    out: dict[str, list[ScopedValue]] = {}
    for code in sorted(values):
        items = []
        for key in sorted(values[code]):
            channel, locale = split_scope(key)
            items.append(ScopedValue(locale, channel, values[code][key]))
        out[code] = items
    return out


def get_product(db: Database, sku: str) -> ProductView:
    with db.read() as conn:
        views = _views(conn, [sku])
    if not views:
        raise NotFound(f"product {sku!r} does not exist")
    return views[0]


def list_products(
    db: Database, filters: ProductFilter, cursor: str | None = None, limit: int = 50
) -> ProductPage:
    """Products matching every given filter, in id order, one page at a time."""
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500")
    after = decode_cursor(cursor)
    products = store.products
    with db.read() as conn:
        query = matching(conn, filters).where(products.c.id > after)
        rows = conn.execute(query.order_by(products.c.id).limit(limit + 1)).all()
        page = rows[:limit]
        items = _views(conn, [r.sku for r in page])
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
    return ProductPage(items, next_cursor)


def matching(conn: Connection, filters: ProductFilter) -> Select[tuple[int, str]]:
    """The ids and SKUs of the products that match every given filter (unordered)."""
    products = store.products
    gaps = store.product_gaps
    query = select(products.c.id, products.c.sku)
    if filters.family is not None:
        query = query.where(
            products.c.family_id.in_(
                select(store.families.c.id).where(store.families.c.code == filters.family)
            )
        )
    if filters.status is not None:
        query = query.where(products.c.status == filters.status.value)
    if filters.kind is not None:
        query = query.where(products.c.kind == filters.kind.value)
    if filters.q:
        pattern = (
            "%"
            + filters.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            + "%"
        )
        query = query.where(products.c.search_text.like(pattern, escape="\\"))
    if filters.category is not None:
        path = conn.execute(
            select(store.categories.c.path).where(store.categories.c.code == filters.category)
        ).scalar()
        if path is None:
            raise NotFound(f"category {filters.category!r} does not exist")
        in_tree = (
            select(store.product_categories.c.product_id)
            .join(
                store.categories,
                store.categories.c.id == store.product_categories.c.category_id,
            )
            .where(store.categories.c.path.startswith(path, autoescape=True))
        )
        query = query.where(products.c.id.in_(in_tree))
    wants_completeness = filters.complete is not None or filters.publishable is not None
    if (wants_completeness or filters.locale) and filters.channel is None:
        raise InvalidInput("filtering by completeness needs a channel")
    if filters.channel is not None:
        channel_id = conn.execute(
            select(store.channels.c.id).where(store.channels.c.code == filters.channel)
        ).scalar()
        if channel_id is None:
            raise NotFound(f"channel {filters.channel!r} does not exist")
        gap = exists().where(
            gaps.c.product_id == products.c.id,
            gaps.c.channel_id == channel_id,
            *([gaps.c.locale == filters.locale] if filters.locale else []),
        )
        sellable = products.c.kind != ProductKind.MODEL.value
        if filters.complete is True:
            query = query.where(sellable, ~gap)
        elif filters.complete is False:
            query = query.where(gap)
        if filters.publishable is True:
            query = query.where(products.c.status == Status.APPROVED.value, sellable, ~gap)
        elif filters.publishable is False:
            query = query.where(or_(products.c.status != Status.APPROVED.value, ~sellable, gap))
    return query


def completeness_views(summary: dict[str, dict[str, list[Any]]] | None) -> list[CompletenessView]:
    """The stored summary ({channel: {locale: [required, satisfied, missing]}}) as views."""
    views = []
    for channel in sorted(summary or {}):
        for locale, (required, satisfied, missing) in sorted((summary or {})[channel].items()):
            ratio = 100 if required == 0 else satisfied * 100 // required
            views.append(
                CompletenessView(
                    channel, locale, required, satisfied, ratio, satisfied == required, missing
                )
            )
    return views


def _views(conn: Connection, skus: list[str]) -> list[ProductView]:
    if not skus:
        return []
    products = store.products
    parent = aliased(products)
    rows = conn.execute(
        select(
            products,
            parent.c.sku.label("parent_sku"),
            parent.c["values"].label("parent_values"),
            store.families.c.code.label("family"),
        )
        .select_from(products)
        .outerjoin(parent, parent.c.id == products.c.parent_id)
        .outerjoin(store.families, store.families.c.id == products.c.family_id)
        .where(products.c.sku.in_(skus))
        .order_by(products.c.id)
    ).all()
    ids = [r.id for r in rows]
    categories: dict[int, list[str]] = defaultdict(list)
    for product_id, code in conn.execute(
        select(store.product_categories.c.product_id, store.categories.c.code)
        .join(store.categories, store.categories.c.id == store.product_categories.c.category_id)
        .where(store.product_categories.c.product_id.in_(ids))
    ):
        categories[product_id].append(code)
    variants: dict[int, list[str]] = defaultdict(list)
    for parent_id, sku in conn.execute(
        select(products.c.parent_id, products.c.sku)
        .where(products.c.parent_id.in_(ids))
        .order_by(products.c.sku)
    ):
        variants[parent_id].append(sku)
    views = []
    for r in rows:
        completeness = completeness_views(r.completeness)
        channel_state: dict[str, bool] = {}
        for c in completeness:
            channel_state[c.channel] = channel_state.get(c.channel, True) and c.is_complete
        publishable = (
            sorted(ch for ch, ok in channel_state.items() if ok)
            if r.status == Status.APPROVED.value
            else []
        )
        views.append(
            ProductView(
                sku=r.sku,
                kind=r.kind,
                parent=r.parent_sku,
                family=r.family,
                status=r.status,
                categories=sorted(categories[r.id]),
                values=scoped(r.values),
                inherited=scoped(r.parent_values or {}),
                completeness=completeness,
                publishable_on=publishable,
                variants=variants[r.id],
                version=r.version,
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
        )
    return views


@dataclass(frozen=True)
class Change:
    changed_at: datetime
    actor: str
    source: str
    changes: dict[str, list[Any]]


def product_history(db: Database, sku: str, limit: int = 200) -> list[Change]:
    """Who changed what and when, newest first: each field with its old and new value."""
    with db.read() as conn:
        product = conn.execute(
            select(
                store.products.c.id, store.products.c.created_at, store.products.c.created_by
            ).where(store.products.c.sku == sku)
        ).first()
        if product is None:
            raise NotFound(f"product {sku!r} does not exist")
        rows = conn.execute(
            select(store.product_changes)
            .where(store.product_changes.c.product_id == product.id)
            .order_by(store.product_changes.c.id.desc())
            .limit(limit)
        ).all()
    changes = [Change(r.changed_at, r.actor, r.source, r.changes) for r in rows]
    if len(changes) < limit:
        # Creation is recorded on the product itself; the values it began with are the "old"
        # sides of the changes above, or still the current values.
        changes.append(
            Change(product.created_at, product.created_by, "created", {"created": [None, sku]})
        )
    return changes


def iter_sellable_skus(db: Database, batch_size: int = 5000) -> Iterator[list[str]]:
    """Every sellable SKU (simple products and variants), in batches, in id order."""
    products = store.products
    after = 0
    while True:
        with db.read() as conn:
            rows = conn.execute(
                select(products.c.id, products.c.sku)
                .where(products.c.id > after, products.c.kind != ProductKind.MODEL.value)
                .order_by(products.c.id)
                .limit(batch_size)
            ).all()
        if not rows:
            return
        yield [r.sku for r in rows]
        after = rows[-1].id
