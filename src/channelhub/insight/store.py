"""Rollup tables behind the dashboard: derived from orders, rebuildable, never a source of truth.

A rollup row holds one (day, channel, currency) or (day, channel, SKU) of orders by the day the
order was placed (UTC). ``refresh`` recomputes whole days, so running it twice, or over a day
that changed meanwhile, gives the same rows.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)

from channelhub.core.database import JsonType, UtcDateTime, metadata
from channelhub.orders.store import orders

sales_daily = Table(
    "sales_daily",
    metadata,
    Column("day", String(10), nullable=False),  # YYYY-MM-DD, UTC
    Column("channel_id", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("orders", Integer, nullable=False),
    Column("cancelled_orders", Integer, nullable=False),
    Column("units", Integer, nullable=False),
    Column("returned_units", Integer, nullable=False),
    Column("revenue_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False),
    Column("cost_minor", BigInteger, nullable=False),  # of the units with a known cost
    Column("costed_revenue_minor", BigInteger, nullable=False),  # revenue of those units
    PrimaryKeyConstraint("day", "channel_id", "currency", name="pk_sales_daily"),
)

sku_daily = Table(
    "sku_daily",
    metadata,
    Column("day", String(10), nullable=False),
    Column("channel_id", Integer, nullable=False),
    Column("sku", String(100), nullable=False),
    Column("units", Integer, nullable=False),
    Column("revenue_minor", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "channel_id", "sku", name="pk_sku_daily"),
    Index("ix_sku_daily_sku_day", "sku", "day"),
)

#: Unit cost per SKU and currency, for margins; SKUs without one are left out of margins.
sku_costs = Table(
    "sku_costs",
    metadata,
    Column("sku", String(100), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("unit_cost_minor", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("sku", "currency", name="pk_sku_costs"),
)

rollup_state = Table(
    "rollup_state",
    metadata,
    Column("name", String(50), nullable=False),
    Column("watermark", UtcDateTime(), nullable=True),
    Column("refreshed_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("name", name="pk_rollup_state"),
)

# The rollup finds changed orders by ``updated_at`` and recomputes days by ``placed_at``.
Index("ix_orders_updated_at", orders.c.updated_at)
# Its columns after (placed_at, channel_id) let the cross-channel reports read a period's
# orders from the index alone, without visiting each order's wide row.
Index(
    "ix_orders_placed_at_channel",
    orders.c.placed_at,
    orders.c.channel_id,
    orders.c.status,
    orders.c.currency,
    orders.c.total_minor,
    orders.c.refunded_minor,
    orders.c.delivery_method,
)

#: Cross-channel reports as last computed per period (they read every order of the period,
#: seconds on a year of a mid-size retailer): what the dashboard and the API serve while
#: younger than their maximum age. Derived; deleting a row only costs its recomputation.
insight_snapshots = Table(
    "insight_snapshots",
    metadata,
    Column("report", String(40), nullable=False),
    Column("start", String(10), nullable=False),  # YYYY-MM-DD
    Column("end", String(10), nullable=False),
    Column("rows", JsonType, nullable=False),
    Column("seconds", Float, nullable=False),  # how long the computation took
    Column("computed_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("report", "start", "end", name="pk_insight_snapshots"),
)
