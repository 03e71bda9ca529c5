"""The products list a merchandiser works through: one compact row per product with its
completeness on each channel, filtered, sorted and paged in the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import aliased

from channelhub.catalog import store
from channelhub.catalog.browse import ProductFilter, completeness_views, matching
from channelhub.catalog.model import ANY, scope_key
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput

PAGE_SIZE = 50


class ProductSort(StrEnum):
    SKU = "sku"
    NAME = "name"
    UPDATED = "updated"
    #: Least complete first: the most missing (channel, locale) pairs on top.
    COMPLETENESS = "completeness"


@dataclass(frozen=True)
class ChannelCell:
    """A product's completeness on one channel: its weakest locale, and what each lacks."""

    channel: str
    ratio: int
    is_complete: bool
    detail: str


@dataclass(frozen=True)
class ProductRow:
    sku: str
    kind: str
    name: str
    family: str | None
    status: str
    updated_at: datetime
    cells: dict[str, ChannelCell]
    #: How many (channel, locale) pairs the product is incomplete for; what "completeness" sorts.
    gaps: int


@dataclass(frozen=True)
class ProductRows:
    rows: list[ProductRow] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def product_rows(
    db: Database,
    filters: ProductFilter,
    sort: ProductSort = ProductSort.SKU,
    descending: bool = False,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    locale: str | None = None,
) -> ProductRows:
    """One page of products matching ``filters`` in ``sort`` order; names in ``locale``."""
    if not 1 <= page_size <= 500:
        raise InvalidInput("page size must be between 1 and 500")
    if page < 1:
        raise InvalidInput("page numbers start at 1")
    products = store.products
    with db.read() as conn:
        found = matching(conn, filters).subquery()
        total = conn.execute(select(func.count()).select_from(found)).scalar_one()
        parent = aliased(products)
        key = _sort_key(sort, locale, parent)
        order = [key.desc() if descending else key.asc(), products.c.id]
        rows = conn.execute(
            select(
                products.c.sku,
                products.c.kind,
                products.c.status,
                products.c.updated_at,
                products.c["values"]["name"].label("names"),
                parent.c["values"]["name"].label("model_names"),
                products.c.completeness,
                store.families.c.code.label("family"),
            )
            .join(found, found.c.id == products.c.id)
            .outerjoin(parent, parent.c.id == products.c.parent_id)
            .outerjoin(store.families, store.families.c.id == products.c.family_id)
            .order_by(*order)
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
    return ProductRows(
        [
            ProductRow(
                sku=r.sku,
                kind=r.kind,
                name=_name(r.names, locale) or _name(r.model_names, locale) or "",
                family=r.family,
                status=r.status,
                updated_at=r.updated_at,
                cells=channel_cells(r.completeness),
                gaps=sum(not v.is_complete for v in completeness_views(r.completeness)),
            )
            for r in rows
        ],
        total,
        page,
        page_size,
    )


def _sort_key(sort: ProductSort, locale: str | None, parent: Any) -> ColumnElement[Any]:
    products = store.products
    if sort is ProductSort.SKU:
        return products.c.sku
    if sort is ProductSort.UPDATED:
        return products.c.updated_at
    if sort is ProductSort.COMPLETENESS:
        gaps = store.product_gaps
        missing = (
            select(func.count())
            .where(gaps.c.product_id == products.c.id)
            .correlate(products)
            .scalar_subquery()
        )
        return -missing
    # A variant has no name of its own: it sorts by its model's.
    keys = [scope_key(None, locale)] if locale else []
    keys.append(scope_key(None, None))
    names = [
        table.c["values"]["name"][key].as_string() for table in (products, parent) for key in keys
    ]
    return func.lower(func.coalesce(*names, ""))


def _name(names: Any, locale: str | None) -> str | None:
    """The product's name in ``locale``, else its unscoped one, else any it has."""
    if not isinstance(names, dict) or not names:
        return None
    for key in ([scope_key(None, locale)] if locale else []) + [scope_key(None, None)]:
        if isinstance(names.get(key), str):
            return str(names[key])
    shared = [v for k, v in sorted(names.items()) if k.startswith(f"{ANY}|") and v]
    return str(shared[0]) if shared else None


def channel_cells(summary: dict[str, dict[str, list[Any]]] | None) -> dict[str, ChannelCell]:
    """Per channel: the lowest locale's ratio and one line per incomplete locale."""
    by_channel: dict[str, list[Any]] = {}
    for view in completeness_views(summary):
        by_channel.setdefault(view.channel, []).append(view)
    cells = {}
    for channel, views in by_channel.items():
        lines = []
        for v in views:
            if v.is_complete:
                lines.append(f"{v.locale}: complete")
                continue
            missing = "; ".join(f"{m['attribute']} ({m['message']})" for m in v.missing)
            lines.append(f"{v.locale}: {v.satisfied}/{v.required}, missing {missing}")
        cells[channel] = ChannelCell(
            channel,
            min(v.ratio for v in views),
            all(v.is_complete for v in views),
            "\n".join(lines),
        )
    return cells
