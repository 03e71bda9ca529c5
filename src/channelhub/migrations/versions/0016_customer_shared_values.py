"""customer_shared_values and customer_records.name_key: values many different people share
are quarantined instead of merging them (issue 14)

Revision ID: 0016_shared_values
Revises: 0015
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from channelhub.core.database import UtcDateTime

revision: str = "0016_shared_values"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_records") as batch:
        batch.add_column(sa.Column("name_key", sa.String(100), nullable=True))
    op.create_table(
        "customer_shared_values",
        sa.Column("kind", sa.String(30), primary_key=True),
        sa.Column("value", sa.String(320), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("names", sa.Integer, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_customer_shared_values_status", "customer_shared_values", ["status"])


def downgrade() -> None:
    op.drop_index("ix_customer_shared_values_status", "customer_shared_values")
    op.drop_table("customer_shared_values")
    with op.batch_alter_table("customer_records") as batch:
        batch.drop_column("name_key")
