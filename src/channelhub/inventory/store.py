"""Inventory tables: locations, channel links, stock rows, the movements ledger, reservations.

``stock_levels`` holds one row per (SKU, location, pool). ``on_hand`` and ``reserved`` only
ever change together with a row in ``stock_movements`` carrying the same deltas, so each is
the sum of its movements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from channelhub.core.bulk import insert_rows
from channelhub.core.database import BigId, JsonType, UtcDateTime, metadata, utcnow

locations = Table(
    "locations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("address", JsonType, nullable=False),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("ships", Boolean, nullable=False),
    Column("pickup", Boolean, nullable=False),
    Column("accepts_returns", Boolean, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("safety_stock", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

channel_locations = Table(
    "channel_locations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    # Independent channels only: the share of the location's stock kept in the channel's pool.
    Column("allocation_share", Float, nullable=True),
    UniqueConstraint("channel_id", "location_id", name="uq_channel_locations_channel_location"),
    Index("ix_channel_locations_location_id", "location_id"),
)

channel_stock_settings = Table(
    "channel_stock_settings",
    metadata,
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
    Column("buffer", Integer, nullable=False),
    # What an order that cannot be fully reserved becomes: backordered or rejected.
    Column("shortage_policy", String(20), nullable=False),
    Column("split_allowed", Boolean, nullable=False),
)

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("sku", String(100), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("pool", String(100), nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("safety", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("sku", "location_id", "pool", name="uq_stock_levels_sku_location_pool"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    Index("ix_stock_levels_location_id", "location_id"),
)

stock_movements = Table(
    "stock_movements",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("stock_level_id", BigId, ForeignKey("stock_levels.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("on_hand_delta", Integer, nullable=False),
    Column("reserved_delta", Integer, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("source", String(200), nullable=False),
    Column("flagged", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_stock_movements_stock_level_id", "stock_level_id"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("stock_level_id", BigId, ForeignKey("stock_levels.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("order_id", BigId, nullable=True),
    Column("order_line_id", BigId, nullable=True),
    Column("cart", String(200), nullable=True),
    Column("expires_at", UtcDateTime(), nullable=True),
    # active, released or consumed
    Column("status", String(20), nullable=False),
    Column("forced", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_reservations_order_id", "order_id"),
    Index("ix_reservations_cart", "cart"),
    Index("ix_reservations_status_expires_at", "status", "expires_at"),
)

stock_alerts = Table(
    "stock_alerts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("sku", String(100), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=True),
    Column("quantity", Integer, nullable=False),
    Column("source", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime(), nullable=True),
    Index("ix_stock_alerts_resolved_at", "resolved_at"),
)

#: Bulk stock changes already applied, by idempotency key, with the result they gave.
stock_batches = Table(
    "stock_batches",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("result", JsonType, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)


# --- queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    """One ledger entry: the deltas it applies to one stock row, and why."""

    stock_level_id: int
    kind: str
    on_hand_delta: int
    reserved_delta: int
    reason: str
    source: str
    flagged: bool = False
    #: When it happened, for history recorded after the fact (None: now).
    at: datetime | None = None


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def ensure_stock_rows(
    conn: Connection, keys: Iterable[tuple[str, int, str]]
) -> dict[tuple[str, int, str], int]:
    """The ids of the stock rows for (sku, location id, pool), creating missing ones at zero.

    Created with ON CONFLICT DO NOTHING, so two transactions creating the same row never clash.
    """
    wanted = set(keys)
    if not wanted:
        return {}
    found = _stock_row_ids(conn, wanted)
    missing = wanted - found.keys()
    if missing:
        safety = dict(
            conn.execute(
                select(locations.c.id, locations.c.safety_stock).where(
                    locations.c.id.in_({loc for _, loc, _ in missing})
                )
            ).all()
        )
        now = utcnow()
        conn.execute(
            _insert(conn, stock_levels).on_conflict_do_nothing(),
            [
                {
                    "sku": sku,
                    "location_id": loc,
                    "pool": pool,
                    "on_hand": 0,
                    "reserved": 0,
                    "safety": safety.get(loc, 0),
                    "updated_at": now,
                }
                for sku, loc, pool in sorted(missing)
            ],
        )
        found.update(_stock_row_ids(conn, missing))
    return found


def _stock_row_ids(
    conn: Connection, keys: set[tuple[str, int, str]]
) -> dict[tuple[str, int, str], int]:
    s = stock_levels.c
    rows = conn.execute(
        select(s.id, s.sku, s.location_id, s.pool).where(
            s.sku.in_({k[0] for k in keys}), s.location_id.in_({k[1] for k in keys})
        )
    )
    return {
        (r.sku, r.location_id, r.pool): r.id for r in rows if (r.sku, r.location_id, r.pool) in keys
    }


def try_reserve(conn: Connection, stock_level_id: int, quantity: int) -> bool:
    """Reserve ``quantity`` on one row in one conditional UPDATE; False when it is not there."""
    s = stock_levels.c
    result = conn.execute(
        update(stock_levels)
        .where(s.id == stock_level_id, s.on_hand - s.reserved - s.safety >= quantity)
        .values(reserved=s.reserved + quantity, updated_at=utcnow())
    )
    return result.rowcount == 1


def try_take(conn: Connection, stock_level_id: int, quantity: int) -> bool:
    """Take ``quantity`` out of one row's sellable units (transfers, allocations), conditionally."""
    s = stock_levels.c
    result = conn.execute(
        update(stock_levels)
        .where(s.id == stock_level_id, s.on_hand - s.reserved - s.safety >= quantity)
        .values(on_hand=s.on_hand - quantity, updated_at=utcnow())
    )
    return result.rowcount == 1


def apply_deltas(
    conn: Connection, movements: Sequence[Movement], *, skip_first: bool = False
) -> None:
    """Apply the movements' deltas to their rows (unconditionally) and write them to the ledger.

    ``skip_first`` leaves the row untouched for movements whose delta a conditional UPDATE
    already applied; the ledger row is written either way.
    """
    s = stock_levels.c
    now = utcnow()
    if not skip_first:
        totals: dict[int, tuple[int, int]] = {}
        for m in movements:
            on_hand, reserved = totals.get(m.stock_level_id, (0, 0))
            totals[m.stock_level_id] = (on_hand + m.on_hand_delta, reserved + m.reserved_delta)
        for row_id in sorted(totals):  # a fixed order, so concurrent writers never deadlock
            on_hand, reserved = totals[row_id]
            if on_hand or reserved:
                conn.execute(
                    update(stock_levels)
                    .where(s.id == row_id)
                    .values(
                        on_hand=s.on_hand + on_hand, reserved=s.reserved + reserved, updated_at=now
                    )
                )
    write_ledger(conn, movements)


def write_ledger(conn: Connection, movements: Sequence[Movement]) -> None:
    if not movements:
        return
    now = utcnow()
    insert_rows(
        conn,
        stock_movements,
        [
            {
                "stock_level_id": m.stock_level_id,
                "kind": m.kind,
                "on_hand_delta": m.on_hand_delta,
                "reserved_delta": m.reserved_delta,
                "reason": m.reason[:200],
                "source": m.source[:200],
                "flagged": m.flagged,
                "created_at": m.at or now,
            }
            for m in movements
        ],
    )
