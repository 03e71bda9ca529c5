"""Promotions: create, change, list, delete, and the announcement of scheduled changes.

A promotion change recomputes, in its own transaction, the effective prices of every priced
(channel, sku) its old or new scope reaches, and announces those that changed. Sales and
promotions that start or end later change prices without any write; the worker calls
``announce_scheduled_changes`` periodically so channels hear of those too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, NotFound, ProblemList
from channelhub.pricing import store
from channelhub.pricing.model import (
    PRICE_LIST_CODE,
    SEGMENT_CODE,
    Promotion,
    PromotionKind,
    parse_amount,
    parse_percent,
)
from channelhub.pricing.service import announce_changes, effective_prices

MAX_SCOPE_ITEMS = 10_000
CLOCK = "scheduled_changes"


def _checked(conn: Connection, promotion: Promotion) -> Promotion:
    """The promotion with its value normalized, or InvalidInput listing every problem."""
    problems = ProblemList()
    if not PRICE_LIST_CODE.match(promotion.code):
        problems.add("code", "must start with a-z and hold only a-z, 0-9 and _")
    if len(promotion.name) > 200 or "\x00" in promotion.name:
        problems.add("name", "at most 200 characters, no NUL")
    value = promotion.value
    try:
        if promotion.kind is PromotionKind.PERCENTAGE:
            if promotion.currency is not None:
                problems.add("currency", "a percentage promotion takes no currency")
            value = parse_percent(promotion.value, "value")
        elif promotion.currency is None:
            problems.add("currency", "a fixed-amount promotion needs a currency")
        else:
            value = parse_amount(promotion.value, promotion.currency, "value")
            if value == 0:
                problems.add("value", "a fixed amount must be above 0")
    except ValueError as error:
        problems.add("value" if "currency" not in str(error) else "currency", str(error))
    for name in ("skus", "categories", "channels", "segments"):
        if len(getattr(promotion, name)) > MAX_SCOPE_ITEMS:
            problems.add(name, f"at most {MAX_SCOPE_ITEMS} entries")
    bad_segments = sorted(s for s in promotion.segments if not SEGMENT_CODE.match(s))
    if bad_segments:
        problems.add("segments", f"not segment codes: {', '.join(bad_segments)[:200]}")
    for name in ("starts_at", "ends_at"):
        moment: datetime | None = getattr(promotion, name)
        if moment is not None and moment.tzinfo is None:
            problems.add(name, "give the time with a UTC offset")
    if (
        promotion.starts_at
        and promotion.ends_at
        and promotion.starts_at.tzinfo
        and promotion.ends_at.tzinfo
        and promotion.ends_at <= promotion.starts_at
    ):
        problems.add("ends_at", "the promotion ends before it starts")
    if abs(promotion.priority) > 1_000_000:
        problems.add("priority", "between -1000000 and 1000000")
    problems.raise_if_any(f"promotion {promotion.code} is not valid")
    _check_references(conn, promotion)
    return replace(promotion, value=value, name=promotion.name.strip())


def _check_references(conn: Connection, promotion: Promotion) -> None:
    problems = ProblemList()
    missing = sorted(promotion.skus - store.existing_skus(conn, sorted(promotion.skus)))
    if missing:
        problems.add("skus", f"unknown products: {', '.join(missing[:20])}")
    missing = sorted(promotion.categories - store.existing_categories(conn, promotion.categories))
    if missing:
        problems.add("categories", f"unknown categories: {', '.join(missing[:20])}")
    missing = sorted(promotion.channels - store.existing_channels(conn, promotion.channels))
    if missing:
        problems.add("channels", f"unknown channels: {', '.join(missing[:20])}")
    problems.raise_if_any(f"promotion {promotion.code} names what does not exist")


def _find(conn: Connection, code: str) -> Promotion | None:
    row = conn.execute(select(store.promotions).where(store.promotions.c.code == code)).first()
    return None if row is None else store.promotion_from_row(row)


def _replace(conn: Connection, old: Promotion | None, new: Promotion | None, reason: str) -> int:
    """Swap ``old`` for ``new`` (either may be None) and announce the prices that change."""
    now = utcnow()
    keys = store.keys_in_scope(conn, [p for p in (old, new) if p is not None])
    before_promotions = store.load_promotions(conn)
    if old is not None and new is None:
        conn.execute(delete(store.promotions).where(store.promotions.c.code == old.code))
    elif new is not None:
        values = store.promotion_values(new)
        if old is None:
            conn.execute(insert(store.promotions).values(created_at=now, updated_at=now, **values))
        else:
            conn.execute(
                update(store.promotions)
                .where(store.promotions.c.code == new.code)
                .values(updated_at=now, **values)
            )
    after_promotions = store.load_promotions(conn)
    # Segments named before or after are both compared, so a segment dropped is noticed.
    segments = sorted({s for p in (*before_promotions, *after_promotions) for s in p.segments})
    everyone: list[str | None] = [None, *segments]
    before = effective_prices(conn, keys, now, before_promotions, everyone)
    after = effective_prices(conn, keys, now, after_promotions, everyone)
    return announce_changes(conn, before, after, now, reason)


def create_promotion(db: Database, promotion: Promotion) -> Promotion:
    """Create a promotion; Conflict when its code is taken."""
    with db.transaction() as conn:
        promotion = _checked(conn, promotion)
        if _find(conn, promotion.code) is not None:
            raise Conflict(f"promotion {promotion.code} already exists")
        _replace(conn, None, promotion, f"promotion {promotion.code} created")
        return promotion


def save_promotion(db: Database, promotion: Promotion) -> tuple[Promotion, bool]:
    """Create or replace a promotion; returns it and whether it was created."""
    with db.transaction() as conn:
        promotion = _checked(conn, promotion)
        old = _find(conn, promotion.code)
        if old != promotion:
            verb = "created" if old is None else "changed"
            _replace(conn, old, promotion, f"promotion {promotion.code} {verb}")
        return promotion, old is None


def get_promotion(db: Database, code: str) -> Promotion:
    with db.read() as conn:
        found = _find(conn, code)
    if found is None:
        raise NotFound(f"promotion {code!r} does not exist")
    return found


def list_promotions(
    db: Database, at: datetime | None = None, channel: str | None = None
) -> list[Promotion]:
    """Every promotion, or those running at ``at`` and/or reaching ``channel``."""
    with db.read() as conn:
        found = store.load_promotions(conn)
    if at is not None:
        found = [
            p
            for p in found
            if p.is_active
            and (p.starts_at is None or p.starts_at <= at)
            and (p.ends_at is None or at < p.ends_at)
        ]
    if channel is not None:
        found = [p for p in found if not p.channels or channel in p.channels]
    return found


def delete_promotion(db: Database, code: str) -> None:
    """Delete a promotion; prices it lowered are announced at their new value."""
    with db.transaction() as conn:
        old = _find(conn, code)
        if old is None:
            raise NotFound(f"promotion {code!r} does not exist")
        _replace(conn, old, None, f"promotion {code} deleted")


def announce_scheduled_changes(db: Database, now: datetime | None = None) -> int:
    """Announce prices changed by sales and promotions that started or ended since the last
    call (the first call only sets the clock). Returns how many events were written."""
    now = now or utcnow()
    with db.transaction() as conn:
        clock = conn.execute(
            select(store.pricing_clock.c.announced_until)
            .where(store.pricing_clock.c.name == CLOCK)
            .with_for_update()
        ).scalar()
        if clock is None:
            conn.execute(insert(store.pricing_clock).values(name=CLOCK, announced_until=now))
            return 0
        if now <= clock:
            return 0
        promotions = store.load_promotions(conn)
        turning = [
            p
            for p in promotions
            if any(t is not None and clock < t <= now for t in (p.starts_at, p.ends_at))
        ]
        keys = store.boundary_keys(conn, clock, now) | store.keys_in_scope(conn, turning)
        before = effective_prices(conn, keys, clock, promotions)
        after = effective_prices(conn, keys, now, promotions)
        written = announce_changes(conn, before, after, now, "scheduled change")
        conn.execute(
            update(store.pricing_clock)
            .where(store.pricing_clock.c.name == CLOCK)
            .values(announced_until=now)
        )
        return written
