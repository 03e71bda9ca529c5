"""Pricing use cases: price lists, prices (bulk upsert), price resolution, and the
``pricing.price_changed`` events every change that alters an effective price writes in its
own transaction.

An effective price is resolved for every currency a channel has a price list in and for every
customer segment some promotion names (plus the public, segment-less price); an event is
written for each (channel, sku) where any of them changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from channelhub.catalog.service import find_channel
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotFound
from channelhub.core.events import record_events
from channelhub.pricing import store
from channelhub.pricing.model import (
    PRICE_LIST_CODE,
    SEGMENT_CODE,
    PriceContext,
    PriceResolution,
    Promotion,
    parse_amount,
    resolve_price,
)

TOPIC_PRICE_CHANGED = "pricing.price_changed"

Key = tuple[str, str]  # (channel code, sku)
Prices = dict[tuple[str, str | None], Decimal]  # (currency, segment) -> effective price


# --- effective prices and their change events ---------------------------------------------


def _segments(promotions: Iterable[Promotion]) -> list[str | None]:
    named = sorted({s for p in promotions for s in p.segments})
    return [None, *named]


def effective_prices(
    conn: Connection,
    keys: Iterable[Key],
    at: datetime,
    promotions: Sequence[Promotion] | None = None,
    segments: Sequence[str | None] | None = None,
) -> dict[Key, Prices]:
    """The effective price of each (channel, sku) per currency and segment, resolved by the
    one resolution function. A key without any price is absent from the result."""
    keys = list(keys)
    promotions = store.load_promotions(conn) if promotions is None else promotions
    segments = _segments(promotions) if segments is None else segments
    entries = store.load_entries(conn, keys)
    paths = store.category_paths(conn, [sku for _, sku in entries])
    found: dict[Key, Prices] = {}
    for (channel, sku), items in entries.items():
        prices: Prices = {}
        for entry in items:
            for segment in segments:
                context = PriceContext(sku, channel, at, segment, paths.get(sku, ()))
                prices[(entry.currency, segment)] = resolve_price(
                    entry, context, promotions
                ).effective_price
        found[(channel, sku)] = prices
    return found


def _as_list(prices: Prices | None) -> list[dict[str, str | None]]:
    return [
        {"currency": currency, "segment": segment, "price": str(price)}
        for (currency, segment), price in sorted(
            (prices or {}).items(), key=lambda i: (i[0][0], i[0][1] or "")
        )
    ]


def announce_changes(
    conn: Connection,
    before: Mapping[Key, Prices],
    after: Mapping[Key, Prices],
    at: datetime,
    reason: str,
) -> int:
    """Write one ``pricing.price_changed`` event per (channel, sku) whose prices differ.
    The payload carries the whole current state, so the latest event of a key suffices."""
    events = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        channel, sku = key
        events.append(
            (
                f"{channel}:{sku}",
                {
                    "channel": channel,
                    "sku": sku,
                    "at": at.isoformat(),
                    "reason": reason,
                    "prices": _as_list(new),
                    "previous": _as_list(old),
                },
            )
        )
    record_events(conn, TOPIC_PRICE_CHANGED, events)
    return len(events)


# --- price lists --------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceList:
    code: str
    name: str
    channel: str
    currency: str
    prices: int
    created_at: datetime
    updated_at: datetime


def _price_list_query() -> Any:
    count = (
        select(func.count())
        .where(store.prices.c.price_list_id == store.price_lists.c.id)
        .scalar_subquery()
    )
    channels = store.channels
    return select(store.price_lists, channels.c.code.label("channel"), count.label("prices")).join(
        channels, channels.c.id == store.price_lists.c.channel_id
    )


def _price_list_from_row(row: Any) -> PriceList:
    return PriceList(
        row.code, row.name, row.channel, row.currency, row.prices, row.created_at, row.updated_at
    )


def find_price_list(conn: Connection, code: str) -> PriceList:
    row = conn.execute(_price_list_query().where(store.price_lists.c.code == code)).first()
    if row is None:
        raise NotFound(f"price list {code!r} does not exist")
    return _price_list_from_row(row)


def save_price_list(
    db: Database, code: str, channel: str, currency: str | None = None, name: str = ""
) -> PriceList:
    """Create a price list for a channel and currency (the channel's by default), or rename
    it. Its channel and currency are fixed once it exists."""
    if not PRICE_LIST_CODE.match(code):
        raise InvalidInput(
            f"price list code {code!r} must start with a-z and hold only a-z, 0-9 and _"
        )
    with db.transaction() as conn:
        target = find_channel(conn, channel)
        currency = currency or target.currency
        try:
            parse_amount("0", currency)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        now = utcnow()
        row = conn.execute(
            select(store.price_lists).where(store.price_lists.c.code == code)
        ).first()
        if row is None:
            taken = conn.execute(
                select(store.price_lists.c.code).where(
                    store.price_lists.c.channel_id == target.id,
                    store.price_lists.c.currency == currency,
                )
            ).scalar()
            if taken is not None:
                raise Conflict(f"channel {channel} already has a {currency} price list: {taken}")
            conn.execute(
                insert(store.price_lists).values(
                    code=code,
                    name=name.strip() or code,
                    channel_id=target.id,
                    currency=currency,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            if row.channel_id != target.id or row.currency != currency:
                raise Conflict(
                    f"price list {code} belongs to another channel or currency; "
                    "a price list's channel and currency cannot change"
                )
            if name.strip() and name.strip() != row.name:
                conn.execute(
                    update(store.price_lists)
                    .where(store.price_lists.c.id == row.id)
                    .values(name=name.strip(), updated_at=now)
                )
        return find_price_list(conn, code)


def get_price_list(db: Database, code: str) -> PriceList:
    with db.read() as conn:
        return find_price_list(conn, code)


def list_price_lists(db: Database, channel: str | None = None) -> list[PriceList]:
    query = _price_list_query().order_by(store.price_lists.c.code)
    if channel is not None:
        query = query.where(store.channels.c.code == channel)
    with db.read() as conn:
        return [_price_list_from_row(r) for r in conn.execute(query)]


def delete_price_list(db: Database, code: str) -> int:
    """Delete a price list and its prices; announces every price that disappears."""
    with db.transaction() as conn:
        price_list = find_price_list(conn, code)
        list_id = conn.execute(
            select(store.price_lists.c.id).where(store.price_lists.c.code == code)
        ).scalar_one()
        skus = list(
            conn.execute(
                select(store.prices.c.sku).where(store.prices.c.price_list_id == list_id)
            ).scalars()
        )
        keys = [(price_list.channel, sku) for sku in skus]
        now = utcnow()
        promotions = store.load_promotions(conn)
        before = effective_prices(conn, keys, now, promotions)
        conn.execute(delete(store.prices).where(store.prices.c.price_list_id == list_id))
        conn.execute(delete(store.price_lists).where(store.price_lists.c.id == list_id))
        after = effective_prices(conn, keys, now, promotions)
        announce_changes(conn, before, after, now, f"price list {code} deleted")
        return len(skus)


# --- resolution ---------------------------------------------------------------------------


def _check_segment(segment: str | None) -> None:
    if segment is not None and not SEGMENT_CODE.match(segment):
        raise InvalidInput(f"segment {segment!r} must start with a-z and hold only a-z, 0-9 and _")


def resolve(
    db: Database,
    sku: str,
    channel: str,
    segment: str | None = None,
    at: datetime | None = None,
    currency: str | None = None,
) -> PriceResolution:
    """The effective price of ``sku`` on ``channel`` (in the channel's currency unless one is
    named), for ``segment`` at time ``at`` (now by default), with its breakdown."""
    _check_segment(segment)
    if at is not None and at.tzinfo is None:
        raise InvalidInput("give the time with a UTC offset, e.g. 2025-01-01T00:00:00Z")
    moment = at or utcnow()
    with db.read() as conn:
        target = find_channel(conn, channel)
        wanted = currency or target.currency
        entries = store.load_entries(conn, [(channel, sku)]).get((channel, sku), [])
        entry = next((e for e in entries if e.currency == wanted), None)
        if entry is None:
            raise NotFound(f"{sku} has no {wanted} price on channel {channel}")
        paths = store.category_paths(conn, [sku]).get(sku, ())
        promotions = store.load_promotions(conn)
    return resolve_price(entry, PriceContext(sku, channel, moment, segment, paths), promotions)


def resolve_many(
    conn: Connection,
    channel: str,
    currency: str,
    skus: Sequence[str],
    at: datetime,
    segment: str | None = None,
    promotions: Sequence[Promotion] | None = None,
) -> dict[str, PriceResolution]:
    """The resolutions of many SKUs on one channel and currency (for pushes and audits)."""
    promotions = store.load_promotions(conn) if promotions is None else promotions
    entries = store.load_entries(conn, [(channel, sku) for sku in skus])
    paths = store.category_paths(conn, list(skus))
    found = {}
    for (_, sku), items in entries.items():
        for entry in items:
            if entry.currency == currency:
                context = PriceContext(sku, channel, at, segment, paths.get(sku, ()))
                found[sku] = resolve_price(entry, context, promotions)
    return found
