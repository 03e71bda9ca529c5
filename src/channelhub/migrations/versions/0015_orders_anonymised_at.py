"""orders.anonymised_at: an order whose customer was erased stays anonymous when its channel
sends it again

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from channelhub.core.database import UtcDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("anonymised_at", UtcDateTime(), nullable=True))
    # Orders erased before this column existed carry the erased customer's marker.
    op.execute(
        "UPDATE orders SET anonymised_at = updated_at WHERE customer IS NOT NULL "
        "AND customer != 'null' AND " + _erased_name()
    )


def _erased_name() -> str:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        return "customer->>'name' = 'erased' AND customer->>'email' = ''"
    return "json_extract(customer, '$.name') = 'erased' AND json_extract(customer, '$.email') = ''"


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("anonymised_at")
