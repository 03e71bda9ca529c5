"""Feed use cases: define feeds, publish full and delta versions to files, validate, serve.

A publication streams the catalog in chunks through the item builder, the validator and the
writer into a file; only valid items are written (the rest go to the version's report, named
and explained). Each item's content hash is staged while streaming and applied in the one
transaction that records the version, so a delta ("items changed since the previous version")
is exact and a failed run changes nothing.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from channelhub.catalog import store as catalog_store
from channelhub.catalog.service import find_channel
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from channelhub.feeds import store
from channelhub.feeds.building import (
    BuildContext,
    BuiltItem,
    Category,
    ForeignPrice,
    ItemBuilder,
    Store,
)
from channelhub.feeds.model import (
    Feed,
    FeedFormat,
    FeedKind,
    FeedSettings,
    LinkTemplate,
    ValidationReport,
    VersionKind,
    Violation,
    check_code,
    check_format,
)
from channelhub.feeds.rules import item_label, validate_item
from channelhub.feeds.writers import FeedWriter, writer_for
from channelhub.inventory import store as inventory_store
from channelhub.inventory.service import channel_settings
from channelhub.pricing import store as pricing_store
from channelhub.pricing.model import Promotion, PromotionKind, is_in_period

#: Products read per query while streaming.
CHUNK = 5000
#: Published files kept per feed (older versions keep their row, not their file).
KEEP_FILES = 5
#: A run that has not finished after this long is taken for dead (a crash) and may be replaced.
STALE_RUN = timedelta(hours=6)


def feed_directory() -> Path:
    """Where published feed files go: ``CHANNELHUB_FEED_DIR`` (default ``./feeds``)."""
    return Path(os.environ.get("CHANNELHUB_FEED_DIR", "feeds"))


# --- definitions --------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedInput:
    code: str
    name: str
    kind: FeedKind
    format: FeedFormat
    channel: str
    locale: str
    settings: dict[str, Any]


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "chf_" + secrets.token_urlsafe(24)


def feed_from_row(row: Row[Any]) -> Feed:
    return Feed(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=FeedKind(row.kind),
        format=FeedFormat(row.format),
        channel=row.channel,
        locale=row.locale,
        settings=FeedSettings.model_validate(row.settings),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _feed_query() -> Any:
    f, c = store.feeds.c, catalog_store.channels.c
    return select(
        f.id,
        f.code,
        f.name,
        f.kind,
        f.format,
        c.code.label("channel"),
        f.locale,
        f.settings,
        f.created_at,
        f.updated_at,
    ).join_from(store.feeds, catalog_store.channels, c.id == f.channel_id)


def find_feed(conn: Connection, code: str) -> Feed:
    row = conn.execute(_feed_query().where(store.feeds.c.code == code)).first()
    if row is None:
        raise NotFound(f"feed {code!r} does not exist")
    return feed_from_row(row)


def get_feed(db: Database, code: str) -> Feed:
    with db.read() as conn:
        return find_feed(conn, code)


def list_feeds(db: Database) -> list[Feed]:
    with db.read() as conn:
        return [feed_from_row(r) for r in conn.execute(_feed_query().order_by(store.feeds.c.code))]


def _checked(conn: Connection, spec: FeedInput) -> tuple[int, FeedSettings]:
    check_code(spec.code)
    check_format(spec.kind, spec.format)
    if not spec.name.strip() or len(spec.name) > 200:
        raise InvalidInput("a feed's name is 1 to 200 characters")
    settings = FeedSettings.parse(spec.settings)
    channel = find_channel(conn, spec.channel)
    if spec.locale not in channel.locales:
        raise InvalidInput(
            f"channel {channel.code!r} does not use locale {spec.locale!r} "
            f"(it uses {', '.join(channel.locales) or 'none'})"
        )
    return channel.id, settings


def create_feed(db: Database, spec: FeedInput) -> tuple[Feed, str]:
    """Define a feed; returns it with its access token (shown once, stored hashed)."""
    token = new_token()
    with db.transaction() as conn:
        channel_id, settings = _checked(conn, spec)
        exists = conn.execute(select(store.feeds.c.id).where(store.feeds.c.code == spec.code))
        if exists.first() is not None:
            raise Conflict(f"feed {spec.code!r} already exists")
        now = utcnow()
        conn.execute(
            insert(store.feeds).values(
                code=spec.code,
                name=spec.name.strip(),
                kind=spec.kind.value,
                format=spec.format.value,
                channel_id=channel_id,
                locale=spec.locale,
                settings=settings.model_dump(mode="json"),
                token_hash=_hash_token(token),
                created_at=now,
                updated_at=now,
            )
        )
        return find_feed(conn, spec.code), token


def update_feed(db: Database, spec: FeedInput) -> Feed:
    """Change a feed's definition; the next delta then re-checks every item."""
    with db.transaction() as conn:
        current = find_feed(conn, spec.code)
        channel_id, settings = _checked(conn, spec)
        conn.execute(
            update(store.feeds)
            .where(store.feeds.c.id == current.id)
            .values(
                name=spec.name.strip(),
                kind=spec.kind.value,
                format=spec.format.value,
                channel_id=channel_id,
                locale=spec.locale,
                settings=settings.model_dump(mode="json"),
                updated_at=utcnow(),
            )
        )
        if (spec.kind, spec.format) != (current.kind, current.format):
            store.clear_hashes(conn, current.id)  # other columns: every item is new
        return find_feed(conn, spec.code)


def delete_feed(db: Database, code: str) -> None:
    with db.transaction() as conn:
        feed = find_feed(conn, code)
        conn.execute(store.feeds.delete().where(store.feeds.c.id == feed.id))


def rotate_token(db: Database, code: str) -> str:
    """A new access token for the feed's URLs; the old one stops working at once."""
    token = new_token()
    with db.transaction() as conn:
        feed = find_feed(conn, code)
        conn.execute(
            update(store.feeds)
            .where(store.feeds.c.id == feed.id)
            .values(token_hash=_hash_token(token))
        )
    return token


def check_token(db: Database, code: str, token: str) -> Feed:
    """The feed when ``token`` is its access token; NotAllowed otherwise."""
    with db.read() as conn:
        feed = find_feed(conn, code)
        stored = conn.execute(
            select(store.feeds.c.token_hash).where(store.feeds.c.id == feed.id)
        ).scalar_one()
    if not secrets.compare_digest(stored, _hash_token(token)):
        raise NotAllowed(f"the token does not open feed {code!r}")
    return feed


# --- versions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    feed: str
    number: int
    kind: VersionKind
    started_at: datetime
    finished_at: datetime
    items: int
    rejected: int
    removed: int
    etag: str
    path: str
    size: int
    report: dict[str, Any]


def _version_from_row(code: str, row: Row[Any]) -> Version:
    return Version(
        code,
        row.number,
        VersionKind(row.kind),
        row.started_at,
        row.finished_at,
        row.items,
        row.rejected,
        row.removed,
        row.etag,
        row.path,
        row.size,
        row.report,
    )


def latest_version(db: Database, code: str, kind: VersionKind | None = None) -> Version | None:
    """The newest published version of a feed (of one kind, or any)."""
    with db.read() as conn:
        feed = find_feed(conn, code)
        return _latest(conn, feed.id, code, kind)


def _latest(conn: Connection, feed_id: int, code: str, kind: VersionKind | None) -> Version | None:
    v = store.feed_versions.c
    query = select(store.feed_versions).where(v.feed_id == feed_id, v.etag != "")
    if kind is not None:
        query = query.where(v.kind == kind.value)
    row = conn.execute(query.order_by(v.number.desc()).limit(1)).first()
    return None if row is None else _version_from_row(code, row)


def list_versions(db: Database, code: str, limit: int = 50) -> list[Version]:
    with db.read() as conn:
        feed = find_feed(conn, code)
        v = store.feed_versions.c
        rows = conn.execute(
            select(store.feed_versions)
            .where(v.feed_id == feed.id, v.etag != "")
            .order_by(v.number.desc())
            .limit(limit)
        )
        return [_version_from_row(code, r) for r in rows]


# --- generation ---------------------------------------------------------------------------


@dataclass
class _Run:
    """What one pass over the catalog produced."""

    report: ValidationReport = field(default_factory=ValidationReport)
    written: int = 0
    removed: int = 0
    etag: Any = field(default_factory=lambda: hashlib.blake2b(digest_size=16))
    size: int = 0
    #: Items built from the catalog (the rest came from the item cache).
    rendered: int = 0
    #: Whether the item cache was used (False: a cold build, every item rendered).
    cached: bool = False


def _promotions_for(
    conn: Connection, channel: str, currency: str, at: datetime
) -> tuple[Promotion, ...]:
    """The promotions that can touch this channel's prices now (resolve_price re-checks)."""
    return tuple(
        p
        for p in pricing_store.load_promotions(conn)
        if p.is_active
        and is_in_period(at, p.starts_at, p.ends_at)
        and (not p.channels or channel in p.channels)
        and (p.kind is not PromotionKind.FIXED_AMOUNT or p.currency == currency)
    )


def _context(conn: Connection, feed: Feed, at: datetime) -> tuple[BuildContext, int | None]:
    channel = find_channel(conn, feed.channel)
    pl = pricing_store.price_lists.c
    price_list_id = conn.execute(
        select(pl.id).where(pl.channel_id == channel.id, pl.currency == channel.currency)
    ).scalar_one_or_none()
    categories = {
        row.code: Category(row.code, row.path, dict(row.labels))
        for row in conn.execute(
            select(
                catalog_store.categories.c.code,
                catalog_store.categories.c.path,
                catalog_store.categories.c.labels,
            )
        )
    }
    stores: tuple[Store, ...] = ()
    if feed.kind is FeedKind.GOOGLE_LOCAL_INVENTORY:
        loc, link = inventory_store.locations.c, inventory_store.channel_locations.c
        query = (
            select(loc.id, loc.code)
            .join_from(
                inventory_store.locations,
                inventory_store.channel_locations,
                link.location_id == loc.id,
            )
            .where(link.channel_id == channel.id, loc.kind == "store")
            .order_by(loc.code)
        )
        wanted = set(feed.settings.store_codes)
        stores = tuple(
            Store(r.id, r.code) for r in conn.execute(query) if not wanted or r.code in wanted
        )
    context = BuildContext(
        channel_record=channel,
        channel_id=channel.id,
        channel=channel.code,
        currency=channel.currency,
        buffer=channel_settings(conn, channel.id).buffer,
        at=at,
        promotions=_promotions_for(conn, channel.code, channel.currency, at),
        categories=categories,
        stores=stores,
    )
    return context, price_list_id


#: A staged change: item key, product id, hash (None: removed), whether the feed held the item,
#: the item's fragment.
_Change = tuple[str, int, int | None, bool, bytes | None]


def _item_hash(data: bytes) -> tuple[bytes, int]:
    digest = hashlib.blake2b(data, digest_size=8).digest()
    return digest, int.from_bytes(digest, "big", signed=True)


def _gap_text(gap: Any) -> str:
    """One missing requirement of a completeness summary, as its attribute and rule."""
    if isinstance(gap, dict):
        return f"{gap.get('attribute', '?')} ({gap.get('rule', '?')})"
    return str(gap)


class _Generation:
    """One pass: build, validate, write, compare with the stored hashes, stage the changes."""

    def __init__(
        self,
        db: Database,
        feed: Feed,
        number: int,
        sink: IO[bytes] | None,
        writer: FeedWriter,
        only_changed: bool,
        stage: bool,
    ) -> None:
        self.db, self.feed, self.number = db, feed, number
        self.sink, self.writer = sink, writer
        self.only_changed, self.stage = only_changed, stage
        self.run = _Run()
        #: The channel's price list in its currency (None: it has none).
        self.price_list_id: int | None = None
        #: The channel's currency (every price must be in it); set before walking.
        self.currency: str | None = None
        #: SKU -> the SKU kept, for ids that equal another's but for case.
        self.duplicates: dict[str, str] = {}
        #: Items an earlier delta since the full carried (a cumulative delta carries them).
        self.carried: dict[str, int] = {}
        self._id_at = 1 if feed.kind is FeedKind.GOOGLE_LOCAL_INVENTORY else 0

    def problems_of(self, item: BuiltItem) -> list[Violation]:
        """The rules the item breaks, its id's case-insensitive uniqueness included."""
        problems = validate_item(self.feed.kind, item.values, self.currency)
        if not problems and self.duplicates:
            sku = item.values[self._id_at]
            kept = self.duplicates.get(sku)
            if kept is not None:
                problems = [
                    Violation(
                        item_label(self.feed.kind, item.values),
                        "id",
                        "duplicate_id",
                        f"id {sku!r} equals {kept!r} but for case, and ids are read without "
                        f"regard to case: only {kept!r} is published",
                    )
                ]
        return problems

    def removal(self, key: str) -> bytes:
        """A delta's row for an item the newest full carried and the catalog no longer
        offers: its id, marked out of stock (neither Merchant Center's supplemental data
        sources nor Meta's update schedule can delete; the next full removes it)."""
        columns = self.feed.columns
        values = dict.fromkeys(columns, "")
        if self.feed.kind is FeedKind.GOOGLE_LOCAL_INVENTORY:
            store_code, _, sku = key.partition("|")
            values |= {"store_code": store_code, "id": sku, "quantity": "0"}
            values["availability"] = "out_of_stock"
        else:
            values["id"] = key
            meta = self.feed.kind is FeedKind.META_CATALOG
            values["availability"] = "out of stock" if meta else "out_of_stock"
        return self.writer.item(tuple(values[c] for c in columns)).encode()

    def hold_back_incomplete(self, conn: Connection, channel_id: int) -> None:
        """Name in the report every product the channel's completeness rules hold back."""
        after = 0
        channel, locale = self.feed.channel, self.feed.locale
        while True:
            rows = store.incomplete_products(conn, channel_id, after, CHUNK)
            if not rows:
                return
            for _, sku, summary in rows:
                by_locale = summary.get(channel, {}) if isinstance(summary, dict) else {}
                missing = [
                    f"{', '.join(_gap_text(gap) for gap in entry[2])} ({where})"
                    for where, entry in sorted(by_locale.items())
                    if isinstance(entry, list) and len(entry) > 2 and entry[2]
                ]
                detail = "; ".join(missing) if missing else f"incomplete in {locale}"
                self.run.report.add(
                    [
                        Violation(
                            sku,
                            "completeness",
                            "completeness",
                            f"held back by channel {channel!r}'s completeness rules: "
                            f"missing {detail}",
                        )
                    ]
                )
            after = rows[-1][0]

    def emit(self, text: str) -> None:
        data = text.encode()
        self.run.size += len(data)
        self.run.etag.update(data)
        if self.sink is not None:
            self.sink.write(data)

    def chunk(
        self,
        builder: ItemBuilder,
        items: list[BuiltItem],
        stored: store.StoredHashes,
    ) -> None:
        writer, run = self.writer, self.run
        run.rendered += len(items)
        changes: list[_Change] = []
        parts: list[bytes] = []
        etag = run.etag
        seen: set[str] = set()
        delta = self.only_changed
        removals = 0
        for item in items:
            problems = self.problems_of(item)
            if problems:
                run.report.add(problems)
                continue
            data = writer.item(item.values).encode()
            digest, value = _item_hash(data)
            seen.add(item.key)
            before = stored.get(item.key)
            changed = before is None or before[1] != value
            if delta:
                # Cumulative: what differs from the newest full, and what an earlier delta
                # since that full carried (it may be back to the full's value).
                if not changed and item.key not in self.carried:
                    continue
                changes.append((item.key, item.product_id, value, before is not None, None))
            elif changed or (before is not None and not before[2]):
                changes.append((item.key, item.product_id, value, before is not None, data))
            parts.append(data)
            etag.update(digest)
        for key, (product_id, _, _) in stored.items():
            if key not in seen:
                changes.append((key, product_id, None, True, None))
                run.removed += 1
                if delta:
                    data = self.removal(key)
                    parts.append(data)
                    etag.update(_item_hash(data)[0])
                    removals += 1
        self._finish(parts, changes, removals)

    def _finish(self, parts: list[bytes], changes: list[_Change], removals: int = 0) -> None:
        run = self.run
        run.written += len(parts) - removals
        block = b"".join(parts)
        run.size += len(block)
        if self.sink is not None:
            self.sink.write(block)
        if self.stage and changes:
            with self.db.transaction() as conn:
                store.stage_changes(conn, self.feed.id, self.number, changes)

    def walk_cached(
        self, conn: Connection, builder: ItemBuilder, query: Any, changed: set[int]
    ) -> None:
        """A full pass through the item cache: every product in ``query``, in id order; the
        stored fragment of each product none of whose inputs changed since the previous
        version (``changed`` holds those that may have), a freshly built, validated item for
        the others (changed, new, or not cached). The bytes are those of a cold build.

        Only for kinds with one item per product (local inventory has one per store)."""
        run = self.run
        run.cached = True
        after = 0
        while True:
            ids = store.read_ids(conn, query, after, CHUNK)
            up_to = ids[-1] if ids else None
            stored = store.stored_items(conn, self.feed.id, after, up_to)
            cached: dict[int, tuple[str, int, bytes]] = {}
            doubles: set[int] = set()
            for key, (product_id, value, fragment) in stored.items():
                if fragment is None or product_id in changed:
                    continue
                if product_id in cached:
                    doubles.add(product_id)
                cached[product_id] = (key, value, fragment)
            for product_id in doubles:  # not one item per product: build it afresh
                del cached[product_id]
            build = [product_id for product_id in ids if product_id not in cached]
            rows = store.read_products(conn, query, build) if build else []
            items = self._items(conn, builder, rows)
            run.report.items += len(items) + len(ids) - len(build)
            self._merge(ids, cached, items, stored)
            if up_to is None:
                return
            after = up_to

    def _merge(
        self,
        ids: list[int],
        cached: dict[int, tuple[str, int, bytes]],
        items: list[BuiltItem],
        stored: store.StoredItems,
    ) -> None:
        writer, run = self.writer, self.run
        run.rendered += len(items)
        changes: list[_Change] = []
        built: dict[int, tuple[bytes, bytes]] = {}
        seen: set[str] = set()
        for item in items:
            problems = self.problems_of(item)
            if problems:
                run.report.add(problems)
                continue
            data = writer.item(item.values).encode()
            digest, value = _item_hash(data)
            seen.add(item.key)
            before = stored.get(item.key)
            if before is None or before[1] != value or before[2] is None:
                changes.append((item.key, item.product_id, value, before is not None, data))
            built[item.product_id] = (data, digest)
        parts: list[bytes] = []
        etag = run.etag
        for product_id in ids:
            fresh = built.get(product_id)
            if fresh is not None:
                parts.append(fresh[0])
                etag.update(fresh[1])
                continue
            hit = cached.get(product_id)
            if hit is not None:
                key, value, fragment = hit
                seen.add(key)
                parts.append(fragment)
                etag.update(value.to_bytes(8, "big", signed=True))
        for key, (product_id, _, _) in stored.items():
            if key not in seen:
                changes.append((key, product_id, None, True, None))
                run.removed += 1
        self._finish(parts, changes)

    def walk_all(self, conn: Connection, builder: ItemBuilder, query: Any) -> None:
        after = 0
        while True:
            rows = store.read_chunk(conn, query, after, CHUNK)
            up_to = rows[-1].id if rows else None
            stored = store.stored_hashes(conn, self.feed.id, after, up_to) if self.stage else {}
            items = self._items(conn, builder, rows, (after, up_to))
            self.run.report.items += len(items)
            self.chunk(builder, items, stored)
            if up_to is None:
                return
            after = up_to

    def walk_ids(self, conn: Connection, builder: ItemBuilder, query: Any, ids: list[int]) -> None:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            rows = store.read_products(conn, query, chunk)
            stored = store.hashes_of(conn, self.feed.id, chunk)
            items = self._items(conn, builder, rows)
            self.run.report.items += len(items)
            self.chunk(builder, items, stored)

    def _items(
        self,
        conn: Connection,
        builder: ItemBuilder,
        rows: list[store.ProductRow],
        id_range: tuple[int, int | None] | None = None,
    ) -> list[BuiltItem]:
        """The chunk's items; with ``id_range`` (a walk over every product) its stock and
        categories are read by product id range, two parameters instead of a list of ids."""
        if not rows:
            return []
        if id_range is not None:
            low, high = id_range[0], rows[-1].id
            positions = store.positions_in_range(conn, builder.channel_id, builder.pool, low, high)
            paths = store.categories_in_range(conn, low, high)
        else:
            positions = store.positions_of(
                conn, builder.channel_id, builder.pool, [r.sku for r in rows]
            )
            paths = store.categories_of(conn, [r.id for r in rows])
        unpriced = [r.sku for r in rows if r.base_minor is None]
        foreign: dict[str, ForeignPrice] = {}
        if unpriced:
            foreign = {
                sku: ForeignPrice(*found)
                for sku, found in store.foreign_prices(
                    conn, builder.channel_id, self.price_list_id, unpriced
                ).items()
            }
        return builder.build(rows, positions, paths, foreign)


def _claim_number(db: Database, feed: Feed, kind: VersionKind, started_at: datetime) -> int:
    """Reserve the next version number; refuse while another run of this feed is live."""
    v = store.feed_versions.c
    try:
        with db.transaction() as conn:
            running = conn.execute(
                select(v.number, v.started_at).where(v.feed_id == feed.id, v.etag == "")
            ).all()
            for number, began in running:
                if began > started_at - STALE_RUN:
                    raise Conflict(
                        f"feed {feed.code!r} is already being published (version {number})"
                    )
                store.discard_staged(conn, feed.id, number)
                conn.execute(
                    store.feed_versions.delete().where(v.feed_id == feed.id, v.number == number)
                )
            last = conn.execute(
                select(func.max(v.number)).where(v.feed_id == feed.id)
            ).scalar_one_or_none()
            number = (last or 0) + 1
            conn.execute(
                insert(store.feed_versions).values(
                    feed_id=feed.id,
                    number=number,
                    kind=kind.value,
                    started_at=started_at,
                    finished_at=started_at,
                    items=0,
                    rejected=0,
                    removed=0,
                    etag="",
                    path="",
                    size=0,
                    report={},
                )
            )
            return number
    except IntegrityError:
        raise Conflict(f"feed {feed.code!r} is already being published") from None


def _release(db: Database, feed: Feed, number: int) -> None:
    v = store.feed_versions.c
    with db.transaction() as conn:
        store.discard_staged(conn, feed.id, number)
        conn.execute(
            store.feed_versions.delete().where(
                v.feed_id == feed.id, v.number == number, v.etag == ""
            )
        )


def _delta_candidates(
    conn: Connection, feed: Feed, since: datetime, now: datetime, price_list_id: int | None
) -> list[int] | None:
    """Products whose item may differ from the previous version, or None for "all of them"
    (the definition, a promotion or a category changed)."""
    if feed.updated_at >= since:
        return None
    promotions = pricing_store.promotions.c
    moved = conn.execute(
        select(func.count()).where(
            (promotions.updated_at >= since)
            | ((promotions.starts_at > since) & (promotions.starts_at <= now))
            | ((promotions.ends_at > since) & (promotions.ends_at <= now))
        )
    ).scalar_one()
    if moved:
        return None
    window = {
        sku
        for channel, sku in pricing_store.boundary_keys(conn, since, now)
        if channel == feed.channel
    }
    # Products deleted from the catalog (it archives rather than deletes) leave the feed at the
    # next full version, whose walk over every id range notices their missing rows.
    return sorted(store.changed_product_ids(conn, since, price_list_id, window))


def publish(
    db: Database,
    code: str,
    kind: VersionKind = VersionKind.FULL,
    directory: Path | None = None,
    *,
    cache: bool = True,
) -> Version:
    """Publish a new version of a feed to a file: every valid item (full), or every item that
    differs from the newest full version, with the items it carried that the catalog no
    longer offers marked out of stock (delta: cumulative since the newest full, so a platform
    may skip any delta but the last). Invalid items never leave the hub.

    A full version reuses the item cache (each item's fragment as last published) for the
    products none of whose inputs changed since the previous full version, and builds the
    rest; ``cache=False`` builds every item (a cold build). The file is the same either way."""
    return publish_measured(db, code, kind, directory, cache=cache).version


@dataclass(frozen=True)
class Publication:
    """A published version and how it was made: whether the item cache was used, and how many
    items were built from the catalog (the others were streamed from the cache)."""

    version: Version
    cached: bool
    rendered: int


def _writer(feed: Feed) -> FeedWriter:
    site = LinkTemplate(feed.settings.link_template).site(feed.locale)
    return writer_for(feed.format, feed.columns, feed.name, site, feed.name)


def _prepare(
    conn: Connection,
    generation: _Generation,
    context: BuildContext,
    price_list_id: int | None,
    query: Any,
) -> None:
    generation.currency = context.currency
    generation.price_list_id = price_list_id
    generation.duplicates = store.case_duplicates(conn, query)
    generation.hold_back_incomplete(conn, context.channel_id)


def publish_measured(
    db: Database,
    code: str,
    kind: VersionKind = VersionKind.FULL,
    directory: Path | None = None,
    *,
    cache: bool = True,
) -> Publication:
    """``publish``, telling how the version was made (for benchmarks and logs)."""
    feed = get_feed(db, code)
    started_at = utcnow()
    base = latest_version(db, code, VersionKind.FULL)
    if kind is VersionKind.DELTA and base is None:
        raise Conflict(f"feed {code!r} has no published version yet: publish a full one first")
    number = _claim_number(db, feed, kind, started_at)
    folder = (directory or feed_directory()) / feed.code
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{number:06d}-{kind.value}.{feed.format.value}"
    partial = final.with_suffix(final.suffix + ".part")
    delta = kind is VersionKind.DELTA
    try:
        with partial.open("wb") as sink, db.read() as conn:
            context, price_list_id = _context(conn, feed, started_at)
            builder = ItemBuilder(feed, context)
            writer = _writer(feed)
            generation = _Generation(db, feed, number, sink, writer, delta, stage=True)
            query = store.product_query(context.channel_id, price_list_id)
            _prepare(conn, generation, context, price_list_id, query)
            generation.emit(writer.header())
            candidates = None
            cacheable = cache and feed.kind is not FeedKind.GOOGLE_LOCAL_INVENTORY
            if base is not None and (delta or cacheable):
                candidates = _delta_candidates(
                    conn, feed, base.started_at, started_at, price_list_id
                )
            if delta:
                assert base is not None
                generation.carried = store.keys_in_deltas(conn, feed.id, base.number)
                if candidates is not None:
                    candidates = sorted(set(candidates) | set(generation.carried.values()))
            if candidates is None:
                generation.walk_all(conn, builder, query)
            elif delta:
                generation.walk_ids(conn, builder, query, candidates)
            else:
                generation.walk_cached(conn, builder, query, set(candidates))
            generation.emit(writer.footer())
        run = generation.run
        partial.replace(final)
        v = store.feed_versions.c
        with db.transaction() as conn:
            # A delta's items stay staged under its number (the next delta carries them
            # again: cumulative); a full applies its own and forgets the deltas'.
            if not delta:
                store.apply_staged(conn, feed.id, number)
                store.discard_deltas_before(conn, feed.id, number)
            conn.execute(
                update(store.feed_versions)
                .where(v.feed_id == feed.id, v.number == number)
                .values(
                    finished_at=utcnow(),
                    items=run.written,
                    rejected=run.report.rejected,
                    removed=run.removed,
                    etag=run.etag.hexdigest(),
                    path=str(final),
                    size=run.size,
                    report=run.report.as_dict(),
                )
            )
    except BaseException:
        partial.unlink(missing_ok=True)
        _release(db, feed, number)
        raise
    _prune(db, feed)
    published = latest_version(db, code)
    assert published is not None and published.number == number
    return Publication(published, run.cached, run.rendered)


def _prune(db: Database, feed: Feed) -> None:
    v = store.feed_versions.c
    with db.read() as conn:
        paths = conn.execute(
            select(v.path)
            .where(v.feed_id == feed.id, v.etag != "")
            .order_by(v.number.desc())
            .offset(KEEP_FILES)
        ).scalars()
        for path in paths:
            Path(path).unlink(missing_ok=True)


def validate_feed(db: Database, code: str) -> ValidationReport:
    """Check every item of the feed against the specification's rules, writing nothing."""
    feed = get_feed(db, code)
    with db.read() as conn:
        context, price_list_id = _context(conn, feed, utcnow())
        builder = ItemBuilder(feed, context)
        generation = _Generation(db, feed, 0, None, _writer(feed), False, stage=False)
        query = store.product_query(context.channel_id, price_list_id)
        _prepare(conn, generation, context, price_list_id, query)
        generation.walk_all(conn, builder, query)
    return generation.run.report


def open_version(version: Version) -> Iterator[bytes]:
    """The bytes of a published version's file, in blocks (for streaming responses)."""
    path = Path(version.path)
    if not path.is_file():
        raise NotFound(
            f"the file of version {version.number} of feed {version.feed!r} is gone; "
            "publish the feed again"
        )
    return _blocks(path)


def _blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while block := source.read(1 << 16):
            yield block


def empty_delta(feed: Feed) -> bytes:
    """A delta file with no items (the feed's header and footer alone)."""
    writer = _writer(feed)
    return (writer.header() + writer.footer()).encode()


def changed_since(db: Database, code: str, since: datetime) -> list[int] | None:
    """The products whose item may have changed since ``since`` (None: possibly all of them,
    as when the definition or a promotion changed)."""
    with db.read() as conn:
        feed = find_feed(conn, code)
        _, price_list_id = _context(conn, feed, utcnow())
        return _delta_candidates(conn, feed, since, utcnow(), price_list_id)
