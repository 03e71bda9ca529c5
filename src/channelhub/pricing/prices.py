"""Prices in price lists: bulk upsert (API and CSV), listing, removal.

Each row is written whole or rejected with its line, column and reason; rows go in batches,
one transaction each (or one transaction for all with ``atomic``), so memory stays flat.
Every row whose change alters an effective price is announced in its batch's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, tuple_, update
from sqlalchemy.engine import Connection

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import NotFound
from channelhub.core.pagination import decode_cursor, encode_cursor
from channelhub.pricing import store
from channelhub.pricing.model import parse_amount, to_minor_units
from channelhub.pricing.service import (
    Key,
    announce_changes,
    effective_prices,
    find_price_list,
)

#: Rows written per transaction by a bulk upsert.
BATCH_SIZE = 1000


# --- prices -------------------------------------------------------------------------------


@dataclass
class PriceInput:
    """One row of a bulk upsert. Amounts and times may be text (CSV) or typed (API)."""

    sku: str
    base_price: str | Decimal
    sale_price: str | Decimal | None = None
    sale_starts_at: str | datetime | None = None
    sale_ends_at: str | datetime | None = None
    price_list: str | None = None
    line: int | None = None
    #: (column, reason) when the row could not even be read (e.g. a CSV row too long).
    unreadable: tuple[str | None, str] | None = None


@dataclass(frozen=True)
class Rejection:
    line: int | None
    sku: str | None
    column: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "sku": self.sku, "column": self.column, "reason": self.reason}


@dataclass
class SaveReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    events: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.created + self.updated


@dataclass(frozen=True)
class _ListInfo:
    id: int
    code: str
    channel: str
    currency: str


@dataclass(frozen=True)
class _Row:
    price_list: _ListInfo
    sku: str
    base_minor: int
    sale_minor: int | None
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    line: int | None


class _RowError(Exception):
    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


class _Abandon(Exception):
    """Raised to roll an all-or-nothing upsert back after it found rejections."""


def parse_time(value: str | datetime | None, column: str) -> datetime | None:
    """An aware datetime from ISO 8601 text (``Z`` or an offset required)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise _RowError(column, f"{text[:40]!r} is not an ISO 8601 time") from None
        value = parsed
    if value.tzinfo is None:
        raise _RowError(column, "give the time with a UTC offset, e.g. 2025-01-01T00:00:00Z")
    return value


def _validate(item: PriceInput, lists: Mapping[str, _ListInfo], default: str | None) -> _Row:
    if item.unreadable is not None:
        raise _RowError(*item.unreadable)
    code = item.price_list or default
    if not code:
        raise _RowError("price_list", "no price list given")
    price_list = lists.get(code)
    if price_list is None:
        raise _RowError("price_list", f"price list {code!r} does not exist")
    sku = item.sku.strip() if isinstance(item.sku, str) else ""
    if not sku:
        raise _RowError("sku", "sku is empty")
    if len(sku) > 100 or any(ord(ch) < 32 or ord(ch) == 127 for ch in sku):
        raise _RowError("sku", "sku must be at most 100 printable characters")
    currency = price_list.currency
    try:
        base = parse_amount(item.base_price, currency, "base price")
    except ValueError as error:
        raise _RowError("base_price", str(error)) from None
    sale: Decimal | None = None
    has_sale = item.sale_price is not None and str(item.sale_price).strip() != ""
    if has_sale:
        try:
            sale = parse_amount(item.sale_price or "", currency, "sale price")
        except ValueError as error:
            raise _RowError("sale_price", str(error)) from None
        if sale > base:
            raise _RowError("sale_price", f"sale price {sale} is above the base price {base}")
    starts = parse_time(item.sale_starts_at, "sale_starts_at")
    ends = parse_time(item.sale_ends_at, "sale_ends_at")
    if sale is None and (starts or ends):
        raise _RowError("sale_price", "a sale period needs a sale price")
    if starts and ends and ends <= starts:
        raise _RowError("sale_ends_at", "the sale ends before it starts")
    return _Row(
        price_list,
        sku,
        to_minor_units(base, currency),
        None if sale is None else to_minor_units(sale, currency),
        starts,
        ends,
        item.line,
    )


def _load_lists(conn: Connection) -> dict[str, _ListInfo]:
    channels = store.channels
    query = select(
        store.price_lists.c.id,
        store.price_lists.c.code,
        store.price_lists.c.currency,
        channels.c.code.label("channel"),
    ).join(channels, channels.c.id == store.price_lists.c.channel_id)
    return {r.code: _ListInfo(r.id, r.code, r.channel, r.currency) for r in conn.execute(query)}


def _chunks(items: Iterable[PriceInput], size: int) -> Iterator[list[PriceInput]]:
    batch: list[PriceInput] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def save_prices(
    db: Database,
    items: Iterable[PriceInput],
    price_list: str | None = None,
    *,
    atomic: bool = False,
    actor: str = "",
    progress: Callable[[int], None] | None = None,
) -> SaveReport:
    """Upsert prices. Each row is written whole or rejected with its line, column and reason;
    with ``atomic`` nothing is written when any row is rejected. Repeating an input changes
    nothing and announces nothing (idempotent)."""
    report = SaveReport()
    seen: dict[tuple[str, str], int | None] = {}
    if atomic:
        try:
            with db.transaction() as conn:
                lists = _load_lists(conn)
                for batch in _chunks(items, BATCH_SIZE):
                    _save_batch(conn, batch, lists, price_list, report, seen, actor)
                    if progress:
                        progress(report.rows)
                if report.rejected:
                    raise _Abandon
        except _Abandon:
            report.created = report.updated = report.events = 0
            report.unchanged = 0
        return _in_line_order(report)
    with db.read() as conn:
        lists = _load_lists(conn)
    for batch in _chunks(items, BATCH_SIZE):
        with db.transaction() as conn:
            _save_batch(conn, batch, lists, price_list, report, seen, actor)
        if progress:
            progress(report.rows)
    return _in_line_order(report)


def _in_line_order(report: SaveReport) -> SaveReport:
    report.rejected.sort(key=lambda r: (r.line is None, r.line or 0))
    return report


def _save_batch(
    conn: Connection,
    batch: Sequence[PriceInput],
    lists: Mapping[str, _ListInfo],
    default: str | None,
    report: SaveReport,
    seen: dict[tuple[str, str], int | None],
    actor: str,
) -> None:
    rows: list[_Row] = []
    for item in batch:
        report.rows += 1
        try:
            row = _validate(item, lists, default)
        except _RowError as error:
            sku = item.sku if isinstance(item.sku, str) else None
            report.rejected.append(Rejection(item.line, sku, error.column, error.reason))
            continue
        first = (row.price_list.code, row.sku)
        if first in seen:
            where = f"line {seen[first]}" if seen[first] is not None else "an earlier row"
            report.rejected.append(
                Rejection(
                    row.line,
                    row.sku,
                    "sku",
                    f"{row.sku} in {first[0]} was already given on {where}",
                )
            )
            continue
        seen[first] = row.line
        rows.append(row)
    known = store.existing_skus(conn, [r.sku for r in rows])
    for row in rows:
        if row.sku not in known:
            report.rejected.append(
                Rejection(row.line, row.sku, "sku", f"product {row.sku} does not exist")
            )
    rows = [r for r in rows if r.sku in known]
    if not rows:
        return
    current = {
        (r.price_list_id, r.sku): r
        for r in conn.execute(
            select(store.prices).where(
                tuple_(store.prices.c.price_list_id, store.prices.c.sku).in_(
                    [(r.price_list.id, r.sku) for r in rows]
                )
            )
        )
    }
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    keys: list[Key] = []
    for row in rows:
        values = {
            "base_minor": row.base_minor,
            "sale_minor": row.sale_minor,
            "sale_starts_at": row.sale_starts_at,
            "sale_ends_at": row.sale_ends_at,
        }
        old = current.get((row.price_list.id, row.sku))
        if old is None:
            keys.append((row.price_list.channel, row.sku))
            inserts.append(
                {"price_list_id": row.price_list.id, "sku": row.sku, "updated_at": now, **values}
            )
        elif any(getattr(old, name) != value for name, value in values.items()):
            keys.append((row.price_list.channel, row.sku))
            updates.append({"row_id": old.id, "updated_at": now, **values})
        else:
            report.unchanged += 1
    if not inserts and not updates:
        return
    promotions = store.load_promotions(conn)
    before = effective_prices(conn, keys, now, promotions)
    if inserts:
        conn.execute(insert(store.prices), inserts)
    if updates:
        conn.execute(
            update(store.prices)
            .where(store.prices.c.id == bindparam("row_id"))
            .values(
                base_minor=bindparam("base_minor"),
                sale_minor=bindparam("sale_minor"),
                sale_starts_at=bindparam("sale_starts_at"),
                sale_ends_at=bindparam("sale_ends_at"),
                updated_at=bindparam("updated_at"),
            ),
            updates,
        )
    after = effective_prices(conn, keys, now, promotions)
    report.created += len(inserts)
    report.updated += len(updates)
    reason = f"prices saved by {actor}" if actor else "prices saved"
    report.events += announce_changes(conn, before, after, now, reason)


@dataclass(frozen=True)
class StoredPrice:
    id: int
    price_list: str
    channel: str
    sku: str
    currency: str
    base_price: Decimal
    sale_price: Decimal | None
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    updated_at: datetime


def _stored(row: Any) -> StoredPrice:
    entry = store.entry_from_row(row)
    sale = entry.sale
    return StoredPrice(
        row.id,
        row.price_list,
        row.channel,
        row.sku,
        row.currency,
        entry.base_price,
        sale.amount if sale else None,
        sale.starts_at if sale else None,
        sale.ends_at if sale else None,
        row.updated_at,
    )


@dataclass(frozen=True)
class PricePage:
    items: list[StoredPrice]
    next_cursor: str | None


def list_prices(
    db: Database,
    price_list: str | None = None,
    sku: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> PricePage:
    """Stored prices, filtered by price list and/or SKU, in pages."""
    after = decode_cursor(cursor)
    query = (
        store.price_rows()
        .where(store.prices.c.id > after)
        .order_by(store.prices.c.id)
        .limit(limit + 1)
    )
    with db.read() as conn:
        if price_list is not None:
            find_price_list(conn, price_list)
            query = query.where(store.price_lists.c.code == price_list)
        if sku is not None:
            query = query.where(store.prices.c.sku == sku)
        rows = conn.execute(query).all()
    items = [_stored(r) for r in rows[:limit]]
    more = len(rows) > limit
    return PricePage(items, encode_cursor(items[-1].id) if more and items else None)


def delete_price(db: Database, price_list: str, sku: str) -> None:
    """Remove one SKU's price from a price list; announces the change."""
    with db.transaction() as conn:
        target = find_price_list(conn, price_list)
        row = conn.execute(
            store.price_rows().where(
                store.price_lists.c.code == price_list, store.prices.c.sku == sku
            )
        ).first()
        if row is None:
            raise NotFound(f"{sku} has no price in price list {price_list}")
        now = utcnow()
        keys = [(target.channel, sku)]
        promotions = store.load_promotions(conn)
        before = effective_prices(conn, keys, now, promotions)
        conn.execute(delete(store.prices).where(store.prices.c.id == row.id))
        after = effective_prices(conn, keys, now, promotions)
        announce_changes(conn, before, after, now, f"price removed from {price_list}")
