"""insight snapshots: cross-channel reports as last computed per period; the orders' period
index covers what those reports read

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from channelhub.core.database import JsonType, UtcDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SALES_COLUMNS = ["status", "currency", "total_minor", "refunded_minor", "delivery_method"]


def upgrade() -> None:
    op.drop_index("ix_orders_placed_at_channel", table_name="orders")
    op.create_index(
        "ix_orders_placed_at_channel", "orders", ["placed_at", "channel_id", *SALES_COLUMNS]
    )
    op.create_table(
        "insight_snapshots",
        sa.Column("report", sa.String(length=40), nullable=False),
        sa.Column("start", sa.String(length=10), nullable=False),
        sa.Column("end", sa.String(length=10), nullable=False),
        sa.Column("rows", JsonType, nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("computed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("report", "start", "end", name=op.f("pk_insight_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("insight_snapshots")
    op.drop_index("ix_orders_placed_at_channel", table_name="orders")
    op.create_index("ix_orders_placed_at_channel", "orders", ["placed_at", "channel_id"])
