"""Keeps the daily rollups in step with the orders tables.

``refresh`` finds the days whose orders changed since the last run (by ``orders.updated_at``,
looking back a little further to catch transactions that committed late) and recomputes those
days whole, in one transaction that holds the rollup's lock. The first run, or ``rebuild=True``,
recomputes everything. Recomputing a day gives the same rows however often it runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from channelhub.core.database import Database, utcnow
from channelhub.insight.store import rollup_state, sales_daily, sku_costs, sku_daily
from channelhub.orders.store import order_lines, orders

NAME = "sales"
#: How far before the watermark a refresh looks for changed orders: a transaction that began
#: before the last refresh may commit after it with an older ``updated_at``.
LOOKBACK = timedelta(minutes=5)
#: Orders in these states are not sales: they count as cancelled orders and add no revenue.
NOT_SOLD = ("cancelled", "rejected")


@dataclass(frozen=True)
class RefreshResult:
    days: int
    rebuilt: bool
    seconds: float


def day_of(column: Any, dialect: str) -> ColumnElement[str]:
    """The UTC calendar day (YYYY-MM-DD) of a timestamp column, as SQL."""
    if dialect == "sqlite":
        # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff', already in UTC.
        return func.substr(column, 1, 10)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def day_start(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)


def refresh(db: Database, *, rebuild: bool = False) -> RefreshResult:
    """Bring the rollups up to date; returns how many days were recomputed."""
    started = utcnow()
    with db.transaction() as conn:
        watermark = _lock(conn)
        dialect = conn.dialect.name
        if rebuild or watermark is None:
            conn.execute(delete(sales_daily))
            conn.execute(delete(sku_daily))
            _recompute(conn, dialect, None)
            days = conn.execute(select(func.count(func.distinct(sales_daily.c.day)))).scalar_one()
            rebuilt = True
        else:
            changed = sorted(
                conn.execute(
                    select(day_of(orders.c.placed_at, dialect))
                    .where(orders.c.updated_at > watermark - LOOKBACK)
                    .distinct()
                ).scalars()
            )
            for span in _spans(changed):
                conn.execute(delete(sales_daily).where(sales_daily.c.day.in_(span)))
                conn.execute(delete(sku_daily).where(sku_daily.c.day.in_(span)))
                _recompute(conn, dialect, span)
            days = len(changed)
            rebuilt = False
        conn.execute(
            rollup_state.update()
            .where(rollup_state.c.name == NAME)
            .values(watermark=started, refreshed_at=utcnow())
        )
    return RefreshResult(days, rebuilt, (utcnow() - started).total_seconds())


def last_refreshed(conn: Connection) -> datetime | None:
    return conn.execute(
        select(rollup_state.c.refreshed_at).where(rollup_state.c.name == NAME)
    ).scalar_one_or_none()


def refresh_if_stale(db: Database, max_age: timedelta) -> RefreshResult | None:
    """Refresh when the rollups are older than ``max_age`` (readers call this before a query)."""
    with db.read() as conn:
        at = last_refreshed(conn)
        if at is not None and utcnow() - at < max_age:
            return None
    return refresh(db)


def _lock(conn: Connection) -> datetime | None:
    """The watermark, with the rollup's row locked so that two refreshes take turns."""
    exists = conn.execute(
        select(rollup_state.c.name).where(rollup_state.c.name == NAME)
    ).scalar_one_or_none()
    if exists is None:
        conn.execute(insert(rollup_state).values(name=NAME, watermark=None, refreshed_at=utcnow()))
    query = select(rollup_state.c.watermark).where(rollup_state.c.name == NAME)
    if conn.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE already serialises writers
        query = query.with_for_update()
    result: datetime | None = conn.execute(query).scalar_one()
    return result


def _spans(days: Sequence[str], size: int = 200) -> Iterable[list[str]]:
    for start in range(0, len(days), size):
        yield list(days[start : start + size])


def _recompute(conn: Connection, dialect: str, days: Sequence[str] | None) -> None:
    """Insert the rollup rows of ``days`` (all days when None), computed from the orders."""
    o, line, cost = orders, order_lines, sku_costs
    day = day_of(o.c.placed_at, dialect)
    in_days: list[ColumnElement[bool]] = []
    if days is not None:
        # A range on placed_at lets the index narrow the scan before the exact day filter.
        in_days = [
            o.c.placed_at >= day_start(days[0]),
            o.c.placed_at < day_start(days[-1]) + timedelta(days=1),
            day.in_(days),
        ]
    sold = o.c.status.not_in(NOT_SOLD)
    order_level = (
        select(
            day.label("day"),
            o.c.channel_id,
            o.c.currency,
            func.sum(case((sold, 1), else_=0)).label("orders"),
            func.sum(case((sold, 0), else_=1)).label("cancelled_orders"),
            func.sum(case((sold, o.c.total_minor), else_=0)).label("revenue_minor"),
            func.sum(o.c.refunded_minor).label("refunded_minor"),
        )
        .where(*in_days)
        .group_by(day, o.c.channel_id, o.c.currency)
    )
    kept = line.c.quantity - line.c.cancelled
    line_revenue = kept * line.c.unit_price_minor - line.c.discount_minor
    line_level = (
        select(
            day.label("day"),
            o.c.channel_id,
            o.c.currency,
            func.sum(kept).label("units"),
            func.sum(line.c.returned).label("returned_units"),
            func.sum(func.coalesce(kept * cost.c.unit_cost_minor, 0)).label("cost_minor"),
            func.sum(case((cost.c.sku.is_not(None), line_revenue), else_=0)).label(
                "costed_revenue_minor"
            ),
        )
        .select_from(
            o.join(line, line.c.order_id == o.c.id).outerjoin(
                cost, and_(cost.c.sku == line.c.sku, cost.c.currency == o.c.currency)
            )
        )
        .where(sold, *in_days)
        .group_by(day, o.c.channel_id, o.c.currency)
    )
    lines_by_key = {
        (row.day, row.channel_id, row.currency): row for row in conn.execute(line_level)
    }
    rows: list[dict[str, Any]] = []
    for row in conn.execute(order_level):
        lines = lines_by_key.get((row.day, row.channel_id, row.currency))
        rows.append(
            {
                "day": row.day,
                "channel_id": row.channel_id,
                "currency": row.currency,
                "orders": int(row.orders or 0),
                "cancelled_orders": int(row.cancelled_orders or 0),
                "revenue_minor": int(row.revenue_minor or 0),
                "refunded_minor": int(row.refunded_minor or 0),
                "units": int(lines.units or 0) if lines else 0,
                "returned_units": int(lines.returned_units or 0) if lines else 0,
                "cost_minor": int(lines.cost_minor or 0) if lines else 0,
                "costed_revenue_minor": int(lines.costed_revenue_minor or 0) if lines else 0,
            }
        )
    if rows:
        conn.execute(insert(sales_daily), rows)
    conn.execute(
        insert(sku_daily).from_select(
            ["day", "channel_id", "sku", "units", "revenue_minor"],
            select(
                day,
                o.c.channel_id,
                line.c.sku,
                func.sum(kept),
                func.sum(line_revenue) + literal(0),
            )
            .select_from(o.join(line, line.c.order_id == o.c.id))
            .where(sold, *in_days)
            .group_by(day, o.c.channel_id, line.c.sku),
        )
    )
