"""feed indexes and item cache: the columns a delta's change scan filters on, and each
published item's rendered fragment

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_products_updated_at", "products", ["updated_at"])
    op.create_index("ix_prices_price_list_id_updated_at", "prices", ["price_list_id", "updated_at"])
    op.create_index("ix_stock_levels_updated_at", "stock_levels", ["updated_at"])
    op.add_column("feed_items", sa.Column("fragment", sa.LargeBinary(), nullable=True))
    op.add_column("feed_item_changes", sa.Column("fragment", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed_item_changes") as batch:
        batch.drop_column("fragment")
    with op.batch_alter_table("feed_items") as batch:
        batch.drop_column("fragment")
    op.drop_index("ix_stock_levels_updated_at", table_name="stock_levels")
    op.drop_index("ix_prices_price_list_id_updated_at", table_name="prices")
    op.drop_index("ix_products_updated_at", table_name="products")
