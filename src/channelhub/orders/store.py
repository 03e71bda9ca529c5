"""Order tables: orders, lines, the status history, shipments and returns.

Money is stored in integer minor units of the order's currency.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from channelhub.core.database import BigId, JsonType, UtcDateTime, metadata

orders = Table(
    "orders",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id"), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("status", String(30), nullable=False),
    Column("delivery_method", String(20), nullable=False),
    Column("pickup_location_id", Integer, ForeignKey("locations.id"), nullable=True),
    Column("payment_status", String(30), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False),
    Column("customer", JsonType, nullable=False),
    Column("billing_address", JsonType, nullable=False),
    Column("shipping_address", JsonType, nullable=False),
    Column("notes", JsonType, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("lines_fingerprint", String(64), nullable=False),
    Column("flagged", String(200), nullable=True),
    Column("placed_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    #: Set when the customer was erased: the channel's later updates keep them anonymous.
    Column("anonymised_at", UtcDateTime(), nullable=True),
    UniqueConstraint("channel_id", "external_id", name="uq_orders_channel_external_id"),
    Index("ix_orders_status", "status"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("order_id", BigId, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(100), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("shipped", Integer, nullable=False),
    Column("returned", Integer, nullable=False),
    Column("cancelled", Integer, nullable=False),
    Column("external_line_id", String(100), nullable=True),
    UniqueConstraint("order_id", "line_no", name="uq_order_lines_order_line_no"),
)

order_history = Table(
    "order_history",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("order_id", BigId, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("from_status", String(30), nullable=True),
    Column("to_status", String(30), nullable=False),
    Column("note", String(500), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_order_history_order_id", "order_id"),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("order_id", BigId, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("tracking", String(200), nullable=False),
    Column("lines", JsonType, nullable=False),  # [{"line_no": n, "sku": s, "quantity": q}]
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_shipments_order_id", "order_id"),
)

returns = Table(
    "returns",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("order_id", BigId, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("refund_minor", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False),
    # [{"line_no", "sku", "quantity", "condition", "restocked_at"}]
    Column("lines", JsonType, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_returns_order_id", "order_id"),
)
