"""Segments per customer: RFM (recency, frequency, monetary) scores, channel mix and
favourite category, computed over every customer and stored; promotions target them by code
(``rfm_champions``, ``multichannel``, ``category_kitchen``, ...) through pricing's segments.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Row

from channelhub.core.bulk import insert_rows
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput, NotFound
from channelhub.customers.journeys import profiles, store
from channelhub.customers.journeys.model import PurchaseSummary, favourite, score_segments
from channelhub.orders.store import orders
from channelhub.pricing import service as pricing
from channelhub.pricing.model import SEGMENT_CODE, PriceResolution
from channelhub.pricing.store import category_paths

NOT_SOLD = ("cancelled", "rejected")


@dataclass(frozen=True)
class CustomerSegments:
    profile_id: int
    recency_days: int
    frequency: int
    monetary_minor: int
    currency: str
    recency_score: int
    frequency_score: int
    monetary_score: int
    rfm_segment: str
    channels: list[str]
    channel_mix: str
    favourite_category: str | None
    segments: list[str]
    computed_at: datetime


def _deepest(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    return parts[-1] if parts else ""


@dataclass
class _Facts:
    last: datetime
    count: int = 0
    money: int = 0
    channels: set[str] = field(default_factory=set)
    currencies: Counter[str] = field(default_factory=Counter)


class _Survivors:
    """Profile id -> surviving profile id: every id with journey facts, read in bulk."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        jo, pp = store.journey_orders.c, store.profile_products.c
        ids = set(conn.execute(select(jo.profile_id).where(jo.profile_id.is_not(None))).scalars())
        ids |= set(conn.execute(select(pp.profile_id).distinct()).scalars())
        self.known = profiles.survivors(conn, sorted(int(i) for i in ids))

    def __call__(self, profile_id: int) -> int:
        if profile_id not in self.known:
            self.known[profile_id] = profiles.current(self.conn, profile_id)
        return self.known[profile_id]


def _facts(conn: Connection, survivor: _Survivors) -> dict[int, _Facts]:
    """Per customer: what they bought and kept. Refunds come off an order's value, and an
    order refunded in full (everything returned) is no purchase."""
    jo = store.journey_orders.c
    kept = orders.c.total_minor - orders.c.refunded_minor
    rows = conn.execute(
        select(jo.profile_id, jo.channel, jo.currency, kept, jo.placed_at)
        .join_from(store.journey_orders, orders, orders.c.id == jo.order_id)
        .where(jo.profile_id.is_not(None), orders.c.status.not_in(NOT_SOLD), kept > 0)
        .order_by(jo.profile_id, jo.order_id)
    ).all()
    facts: dict[int, _Facts] = {}
    for profile_id, channel, currency, total, placed in rows:
        entry = facts.setdefault(survivor(int(profile_id)), _Facts(placed))
        entry.last = max(entry.last, placed)
        entry.count += 1
        entry.money += int(total)
        entry.channels.add(channel)
        entry.currencies[currency] += 1
    return facts


def _categories(conn: Connection, survivor: _Survivors) -> dict[int, Counter[str]]:
    """Per customer: units bought per category (the deepest category of each SKU)."""
    pp = store.profile_products.c
    bought = conn.execute(select(pp.profile_id, pp.sku, pp.units)).all()
    paths = category_paths(conn, sorted({r.sku for r in bought}))
    found: dict[int, Counter[str]] = {}
    for profile_id, sku, units in bought:
        for path in paths.get(sku, ()):
            code = _deepest(path)
            if code:
                found.setdefault(survivor(int(profile_id)), Counter())[code] += int(units)
    return found


def summaries(conn: Connection, now: datetime) -> list[tuple[PurchaseSummary, str]]:
    """One purchase summary per customer (merged profiles counted as one), with the
    currency most of their orders were in."""
    survivor = _Survivors(conn)
    facts = _facts(conn, survivor)
    categories = _categories(conn, survivor)
    return [
        (
            PurchaseSummary(
                profile_id=pid,
                recency_days=max(0, (now - entry.last).days),
                frequency=entry.count,
                monetary_minor=entry.money,
                channels=frozenset(entry.channels),
                favourite_category=favourite(sorted(categories.get(pid, Counter()).items())),
            ),
            entry.currencies.most_common(1)[0][0],
        )
        for pid, entry in sorted(facts.items())
    ]


def compute_segments(db: Database, now: datetime | None = None) -> int:
    """Score every customer who bought something and store their segments (replacing the
    previous run); the number of customers scored."""
    moment = now or utcnow()
    with db.transaction() as conn:
        found = summaries(conn, moment)
        scored = score_segments([summary for summary, _ in found])
        conn.execute(delete(store.customer_segments))
        insert_rows(
            conn,
            store.customer_segments,
            [
                {
                    "profile_id": s.profile_id,
                    "recency_days": summary.recency_days,
                    "frequency": summary.frequency,
                    "monetary_minor": summary.monetary_minor,
                    "currency": currency,
                    "recency_score": s.recency_score,
                    "frequency_score": s.frequency_score,
                    "monetary_score": s.monetary_score,
                    "rfm_segment": s.rfm_segment,
                    "channels": sorted(summary.channels),
                    "channel_mix": s.channel_mix,
                    "favourite_category": s.favourite_category,
                    "segments": list(s.codes),
                    "computed_at": moment,
                }
                for s, (summary, currency) in zip(scored, found, strict=True)
            ],
        )
    return len(scored)


def _view(r: Row[Any]) -> CustomerSegments:
    return CustomerSegments(
        r.profile_id, r.recency_days, r.frequency, r.monetary_minor, r.currency,
        r.recency_score, r.frequency_score, r.monetary_score, r.rfm_segment,
        list(r.channels), r.channel_mix, r.favourite_category, list(r.segments), r.computed_at,
    )  # fmt: skip


def segments_in(conn: Connection, profile_id: int) -> CustomerSegments | None:
    """The stored segments of the customer (of the newest run), None before they bought."""
    ids = profiles.members(conn, profile_id)
    c = store.customer_segments.c
    rows = conn.execute(
        select(store.customer_segments).where(c.profile_id.in_(ids)).order_by(c.profile_id)
    ).all()
    return _view(rows[0]) if rows else None


def segments_of(db: Database, profile_id: int) -> CustomerSegments:
    with db.read() as conn:
        found = segments_in(conn, profile_id)
    if found is None:
        raise NotFound(f"customer {profile_id} has no segments yet (no orders, or not computed)")
    return found


def members_of(db: Database, code: str, limit: int = 1000) -> list[int]:
    """The customers in segment ``code`` (profile ids)."""
    if not SEGMENT_CODE.match(code):
        raise InvalidInput(f"{code!r} is not a segment code")
    c = store.customer_segments.c
    with db.read() as conn:
        rows = conn.execute(select(c.profile_id, c.segments).order_by(c.profile_id)).all()
    return [int(pid) for pid, codes in rows if code in codes][:limit]


def price_for_customer(
    db: Database, profile_id: int, sku: str, channel: str, at: datetime | None = None
) -> PriceResolution:
    """The customer's price: pricing's one resolution for the public and for each of the
    customer's segments; the lowest wins (a segment promotion is a benefit, never a cost)."""
    with db.read() as conn:
        found = segments_in(conn, profile_id)
    codes: list[str | None] = [None, *(found.segments if found else [])]
    best: PriceResolution | None = None
    for code in codes:
        resolution = pricing.resolve(db, sku, channel, code, at)
        if best is None or resolution.effective_price < best.effective_price:
            best = resolution
    assert best is not None
    return best
