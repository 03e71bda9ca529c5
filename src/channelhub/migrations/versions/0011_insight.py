"""insight: sales rollups, unit costs, and the order indexes the rollup reads by

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import channelhub.core.database

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sales_daily",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("cancelled_orders", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("returned_units", sa.Integer(), nullable=False),
        sa.Column("revenue_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("costed_revenue_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel_id", "currency", name="pk_sales_daily"),
    )
    op.create_table(
        "sku_daily",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("revenue_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel_id", "sku", name="pk_sku_daily"),
    )
    op.create_index("ix_sku_daily_sku_day", "sku_daily", ["sku", "day"])
    op.create_table(
        "sku_costs",
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("unit_cost_minor", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("sku", "currency", name="pk_sku_costs"),
    )
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("watermark", channelhub.core.database.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "refreshed_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name="pk_rollup_state"),
    )
    op.create_index("ix_orders_updated_at", "orders", ["updated_at"])
    op.create_index("ix_orders_placed_at_channel", "orders", ["placed_at", "channel_id"])


def downgrade() -> None:
    op.drop_index("ix_orders_placed_at_channel", table_name="orders")
    op.drop_index("ix_orders_updated_at", table_name="orders")
    op.drop_table("rollup_state")
    op.drop_table("sku_costs")
    op.drop_index("ix_sku_daily_sku_day", table_name="sku_daily")
    op.drop_table("sku_daily")
    op.drop_table("sales_daily")
