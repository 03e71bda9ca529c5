"""Feed tables and the chunked, set-based reads a generation streams through.

``feed_items`` holds, per feed, the content hash of every item the last published version
carried: a delta is the items whose hash differs. Products are read in keyset chunks (``id >
last``), each chunk one query for products, one for stock, one for stored hashes, so memory
stays flat whatever the catalog's size, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    and_,
    delete,
    exists,
    func,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from channelhub.catalog import store as catalog
from channelhub.core.bulk import BulkInsert
from channelhub.core.database import BigId, JsonType, UtcDateTime, metadata
from channelhub.inventory import store as inventory
from channelhub.inventory.model import StockPosition
from channelhub.pricing import store as pricing

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("format", String(10), nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("locale", String(10), nullable=False),
    Column("settings", JsonType, nullable=False),
    # SHA-256 of the feed's access token (the token itself is shown once).
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

feed_versions = Table(
    "feed_versions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", String(10), nullable=False),
    # When the generation began: the next delta looks for changes from this moment on.
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=False),
    Column("items", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("removed", Integer, nullable=False),
    Column("etag", String(100), nullable=False),
    Column("path", String(1000), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("report", JsonType, nullable=False),
    UniqueConstraint("feed_id", "number", name="uq_feed_versions_feed_number"),
)

feed_items = Table(
    "feed_items",
    metadata,
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("item_key", String(200), nullable=False),
    # No foreign key: an item outlives its product until the next version removes it.
    Column("product_id", BigId, nullable=False),
    Column("hash", BigInteger, nullable=False),
    # The item as last published, in the feed's format (the item cache): a full publication
    # streams it unchanged when none of the product's inputs changed since that version.
    Column("fragment", LargeBinary, nullable=True),
    PrimaryKeyConstraint("feed_id", "item_key"),
    Index("ix_feed_items_feed_id_product_id", "feed_id", "product_id"),
)

# Hash changes a generation stages while it streams, applied to ``feed_items`` in the same
# transaction that records the version: a generation that fails half-way changes nothing.
feed_item_changes = Table(
    "feed_item_changes",
    metadata,
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("item_key", String(200), nullable=False),
    Column("product_id", BigId, nullable=False),
    # NULL: the item was removed.
    Column("hash", BigInteger, nullable=True),
    # Whether the feed held the item before (its old hash must go).
    Column("was_stored", Boolean, nullable=False),
    Column("fragment", LargeBinary, nullable=True),
    PrimaryKeyConstraint("feed_id", "number", "item_key"),
)


# A delta looks for rows changed since the previous version: products by ``updated_at``, the
# channel's prices by list and ``updated_at``, stock levels by ``updated_at``. Without these
# indexes each delta scans the three tables whole.
Index("ix_products_updated_at", catalog.products.c.updated_at)
Index(
    "ix_prices_price_list_id_updated_at",
    pricing.prices.c.price_list_id,
    pricing.prices.c.updated_at,
)
Index("ix_stock_levels_updated_at", inventory.stock_levels.c.updated_at)


@dataclass(frozen=True)
class ProductRow:
    """One sellable product (simple or variant) as a feed reads it."""

    id: int
    sku: str
    values: dict[str, dict[str, Any]]
    parent_sku: str | None
    parent_values: dict[str, dict[str, Any]] | None
    base_minor: int | None
    sale_minor: int | None
    sale_starts_at: Any
    sale_ends_at: Any


def product_query(channel_id: int, price_list_id: int | None) -> Select[Any]:
    """Approved simple products and variants with no completeness gap on the channel, with
    their model's values and their row in the channel's price list."""
    p = catalog.products
    parent = p.alias("parent")
    price = pricing.prices
    gap = catalog.product_gaps
    complete = ~exists().where(gap.c.channel_id == channel_id, gap.c.product_id == p.c.id)
    return (
        select(
            p.c.id,
            p.c.sku,
            p.c["values"],
            parent.c.sku.label("parent_sku"),
            parent.c["values"].label("parent_values"),
            price.c.base_minor,
            price.c.sale_minor,
            price.c.sale_starts_at,
            price.c.sale_ends_at,
        )
        .select_from(
            p.outerjoin(parent, parent.c.id == p.c.parent_id).outerjoin(
                price,
                and_(
                    price.c.price_list_id == (price_list_id if price_list_id is not None else -1),
                    price.c.sku == p.c.sku,
                ),
            )
        )
        .where(p.c.kind.in_(("simple", "variant")), p.c.status == "approved", complete)
    )


def read_chunk(conn: Connection, query: Select[Any], after_id: int, size: int) -> list[ProductRow]:
    """The next ``size`` products with an id above ``after_id``, in id order."""
    p = catalog.products
    # ``all()`` fetches the chunk with one driver ``fetchall`` instead of a call per row.
    rows = conn.execute(query.where(p.c.id > after_id).order_by(p.c.id).limit(size)).all()
    return [ProductRow(*row) for row in rows]


def read_products(conn: Connection, query: Select[Any], ids: Sequence[int]) -> list[ProductRow]:
    p = catalog.products
    rows = conn.execute(query.where(p.c.id.in_(ids)).order_by(p.c.id)).all()
    return [ProductRow(*row) for row in rows]


#: item key -> (product id, hash, whether its fragment is cached)
StoredHashes = dict[str, tuple[int, int, bool]]
#: item key -> (product id, hash, fragment or None)
StoredItems = dict[str, tuple[int, int, bytes | None]]


def read_ids(conn: Connection, query: Select[Any], after_id: int, size: int) -> list[int]:
    """The ids of the next ``size`` products of ``query`` above ``after_id`` (no values read)."""
    p = catalog.products
    ids = query.with_only_columns(p.c.id).where(p.c.id > after_id).order_by(p.c.id).limit(size)
    return list(conn.execute(ids).scalars().all())


def _range(query: Select[Any], after_id: int, up_to: int | None) -> Select[Any]:
    f = feed_items.c
    query = query.where(f.product_id > after_id)
    return query if up_to is None else query.where(f.product_id <= up_to)


def stored_hashes(conn: Connection, feed_id: int, after_id: int, up_to: int | None) -> StoredHashes:
    """The items stored for products in ``(after_id, up_to]``."""
    f = feed_items.c
    query = select(f.item_key, f.product_id, f.hash, f.fragment.is_not(None)).where(
        f.feed_id == feed_id
    )
    rows = conn.execute(_range(query, after_id, up_to)).all()
    return {key: (pid, value, bool(cached)) for key, pid, value, cached in rows}


def stored_items(conn: Connection, feed_id: int, after_id: int, up_to: int | None) -> StoredItems:
    """The items stored for products in ``(after_id, up_to]``, with their fragments."""
    f = feed_items.c
    query = select(f.item_key, f.product_id, f.hash, f.fragment).where(f.feed_id == feed_id)
    rows = conn.execute(_range(query, after_id, up_to)).all()
    return {key: (pid, value, fragment) for key, pid, value, fragment in rows}


def hashes_of(conn: Connection, feed_id: int, product_ids: Sequence[int]) -> StoredHashes:
    f = feed_items.c
    query = select(f.item_key, f.product_id, f.hash, f.fragment.is_not(None)).where(
        f.feed_id == feed_id, f.product_id.in_(product_ids)
    )
    rows = conn.execute(query).all()
    return {key: (pid, value, bool(cached)) for key, pid, value, cached in rows}


def stage_changes(
    conn: Connection,
    feed_id: int,
    number: int,
    changes: Sequence[tuple[str, int, int | None, bool, bytes | None]],
) -> None:
    """Stage (item key, product id, hash or None when removed, whether the feed held it, the
    item's fragment or None)."""
    if changes:
        BulkInsert(
            conn,
            feed_item_changes,
            ["feed_id", "number", "item_key", "product_id", "hash", "was_stored", "fragment"],
        ).run([(feed_id, number, *change) for change in changes])


def discard_staged(conn: Connection, feed_id: int, number: int | None = None) -> None:
    c = feed_item_changes.c
    query = delete(feed_item_changes).where(c.feed_id == feed_id)
    if number is not None:
        query = query.where(c.number == number)
    conn.execute(query)


def apply_staged(conn: Connection, feed_id: int, number: int) -> None:
    """Move version ``number``'s staged hashes into ``feed_items`` (set-based) and clear them."""
    c, f = feed_item_changes.c, feed_items.c
    # Only items the feed held before need deleting; they are walked in key order, a batch
    # at a time, so memory stays flat however many items changed.
    after = ""
    while True:
        keys = list(
            conn.execute(
                select(c.item_key)
                .where(c.feed_id == feed_id, c.number == number, c.was_stored, c.item_key > after)
                .order_by(c.item_key)
                .limit(pricing.CHUNK)
            ).scalars()
        )
        if not keys:
            break
        conn.execute(delete(feed_items).where(f.feed_id == feed_id, f.item_key.in_(keys)))
        after = keys[-1]
    conn.execute(
        feed_items.insert().from_select(
            ["feed_id", "item_key", "product_id", "hash", "fragment"],
            select(c.feed_id, c.item_key, c.product_id, c.hash, c.fragment).where(
                c.feed_id == feed_id, c.number == number, c.hash.is_not(None)
            ),
        )
    )
    discard_staged(conn, feed_id, number)


def categories_of(conn: Connection, product_ids: Sequence[int]) -> dict[int, list[str]]:
    """The category paths of each product, its model's included."""
    p, links, categories = catalog.products, catalog.product_categories, catalog.categories
    found: dict[int, list[str]] = {}
    own = (
        select(links.c.product_id, categories.c.path)
        .join(categories, categories.c.id == links.c.category_id)
        .where(links.c.product_id.in_(product_ids))
    )
    inherited = (
        select(p.c.id, categories.c.path)
        .select_from(
            p.join(links, links.c.product_id == p.c.parent_id).join(
                categories, categories.c.id == links.c.category_id
            )
        )
        .where(p.c.id.in_(product_ids), p.c.parent_id.is_not(None))
    )
    for query in (own, inherited):
        for product_id, path in conn.execute(query).all():
            found.setdefault(product_id, []).append(path)
    return found


def positions_of(
    conn: Connection, channel_id: int, pool: str, skus: Sequence[str]
) -> dict[str, list[StockPosition]]:
    """The stock rows of a chunk's SKUs in the channel's pool at the channel's locations, in
    one query fetched at once (what ``inventory.service.channel_positions`` returns)."""
    s, c = inventory.stock_levels.c, inventory.channel_locations.c
    rows = conn.execute(
        select(s.sku, s.location_id, s.on_hand, s.reserved, s.safety)
        .join_from(
            inventory.stock_levels, inventory.channel_locations, c.location_id == s.location_id
        )
        .where(c.channel_id == channel_id, s.pool == pool, s.sku.in_(sorted(set(skus))))
    ).all()
    found: dict[str, list[StockPosition]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(StockPosition(*row))
    return found


def changed_product_ids(
    conn: Connection, since: Any, price_list_id: int | None, sale_window: Any
) -> set[int]:
    """Products that may have changed since ``since``: their own row, their model's, their
    price on the channel's list, their stock anywhere, or a sale that started or ended."""
    p, s, pr = catalog.products.c, _stock().c, pricing.prices.c
    touched = set(conn.execute(select(p.id).where(p.updated_at >= since)).scalars())
    if touched:
        models = sorted(touched)
        for start in range(0, len(models), pricing.CHUNK):
            chunk = models[start : start + pricing.CHUNK]
            touched.update(conn.execute(select(p.id).where(p.parent_id.in_(chunk))).scalars())
    # No DISTINCT: the set removes duplicates, and SQLite would answer a DISTINCT by walking the
    # whole (sku, location, pool) index instead of the ``updated_at`` one.
    skus: set[str] = set(conn.execute(select(s.sku).where(s.updated_at >= since)).scalars())
    if price_list_id is not None:
        skus.update(
            conn.execute(
                select(pr.sku).where(pr.price_list_id == price_list_id, pr.updated_at >= since)
            ).scalars()
        )
        skus.update(sale_window)
    ordered = sorted(skus)
    for start in range(0, len(ordered), pricing.CHUNK):
        chunk = ordered[start : start + pricing.CHUNK]
        touched.update(conn.execute(select(p.id).where(p.sku.in_(chunk))).scalars())
    return touched


def _stock() -> Table:
    return inventory.stock_levels


def clear_hashes(conn: Connection, feed_id: int) -> None:
    conn.execute(delete(feed_items).where(feed_items.c.feed_id == feed_id))


def case_duplicates(conn: Connection, query: Select[Any]) -> dict[str, str]:
    """Among ``query``'s products, the SKUs that equal another's but for case, each mapped to
    the SKU kept (the lowest product id): one grouped query, whatever the catalog's size."""
    p = catalog.products.c
    lowered = func.lower(p.sku)
    groups = (
        query.with_only_columns(lowered.label("folded"))
        .group_by(lowered)
        .having(func.count() > 1)
        .subquery()
    )
    rows = conn.execute(
        query.with_only_columns(p.id, p.sku)
        .where(lowered.in_(select(groups.c.folded)))
        .order_by(p.id)
    ).all()
    kept: dict[str, str] = {}
    others: dict[str, str] = {}
    for _, sku in rows:
        folded = sku.lower()
        if folded in kept:
            others[sku] = kept[folded]
        else:
            kept[folded] = sku
    return others


def incomplete_products(
    conn: Connection, channel_id: int, after_id: int, size: int
) -> list[tuple[int, str, dict[str, Any]]]:
    """Approved sellable products the channel's completeness rules hold back (a gap row), in
    id order from ``after_id``: (id, sku, completeness summary)."""
    p, gap = catalog.products, catalog.product_gaps
    held = exists().where(gap.c.channel_id == channel_id, gap.c.product_id == p.c.id)
    rows = conn.execute(
        select(p.c.id, p.c.sku, p.c.completeness)
        .where(
            p.c.kind.in_(("simple", "variant")),
            p.c.status == "approved",
            held,
            p.c.id > after_id,
        )
        .order_by(p.c.id)
        .limit(size)
    ).all()
    return [(row[0], row[1], row[2] or {}) for row in rows]


def foreign_prices(
    conn: Connection, channel_id: int, own_list_id: int | None, skus: Sequence[str]
) -> dict[str, tuple[str, int, int | None, Any, Any]]:
    """The rows of ``skus`` in the channel's other price lists (other currencies): sku ->
    (currency, base, sale, sale start, sale end); one query for a chunk's unpriced SKUs."""
    pl, pr = pricing.price_lists.c, pricing.prices.c
    query = (
        select(
            pr.sku, pl.currency, pr.base_minor, pr.sale_minor, pr.sale_starts_at, pr.sale_ends_at
        )
        .join_from(pricing.prices, pricing.price_lists, pl.id == pr.price_list_id)
        .where(pl.channel_id == channel_id, pr.sku.in_(sorted(set(skus))))
        .order_by(pl.id)
    )
    if own_list_id is not None:
        query = query.where(pl.id != own_list_id)
    found: dict[str, tuple[str, int, int | None, Any, Any]] = {}
    for sku, currency, base, sale, starts, ends in conn.execute(query).all():
        found.setdefault(sku, (currency, base, sale, starts, ends))
    return found


def keys_in_deltas(conn: Connection, feed_id: int, after_number: int) -> dict[str, int]:
    """The items (key -> product id) some delta after version ``after_number`` (the newest
    full) carried: a cumulative delta carries them again, even when they are back to the full
    version's value, so that a platform that applied an earlier delta is corrected."""
    c = feed_item_changes.c
    rows = conn.execute(
        select(c.item_key, c.product_id).where(c.feed_id == feed_id, c.number > after_number)
    ).all()
    return {str(key): int(product_id) for key, product_id in rows}


def discard_deltas_before(conn: Connection, feed_id: int, number: int) -> None:
    """Forget the items of deltas older than full version ``number`` (they are in it now)."""
    c = feed_item_changes.c
    conn.execute(delete(feed_item_changes).where(c.feed_id == feed_id, c.number < number))


def positions_in_range(
    conn: Connection, channel_id: int, pool: str, after_id: int, up_to: int
) -> dict[str, list[StockPosition]]:
    """``positions_of`` for the products with an id in ``(after_id, up_to]``: one query with
    the range as parameters (no list of SKUs to bind), for walks over the whole catalog."""
    s, c, p = inventory.stock_levels.c, inventory.channel_locations.c, catalog.products.c
    rows = conn.execute(
        select(s.sku, s.location_id, s.on_hand, s.reserved, s.safety)
        .select_from(
            catalog.products.join(inventory.stock_levels, s.sku == p.sku).join(
                inventory.channel_locations, c.location_id == s.location_id
            )
        )
        .where(p.id > after_id, p.id <= up_to, c.channel_id == channel_id, s.pool == pool)
    ).all()
    found: dict[str, list[StockPosition]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(StockPosition(*row))
    return found


def categories_in_range(conn: Connection, after_id: int, up_to: int) -> dict[int, list[str]]:
    """``categories_of`` for the products with an id in ``(after_id, up_to]``."""
    p, links, categories = catalog.products, catalog.product_categories, catalog.categories
    found: dict[int, list[str]] = {}
    own = (
        select(links.c.product_id, categories.c.path)
        .join(categories, categories.c.id == links.c.category_id)
        .where(links.c.product_id > after_id, links.c.product_id <= up_to)
    )
    inherited = (
        select(p.c.id, categories.c.path)
        .select_from(
            p.join(links, links.c.product_id == p.c.parent_id).join(
                categories, categories.c.id == links.c.category_id
            )
        )
        .where(p.c.id > after_id, p.c.id <= up_to, p.c.parent_id.is_not(None))
    )
    for query in (own, inherited):
        for product_id, path in conn.execute(query).all():
            found.setdefault(product_id, []).append(path)
    return found
