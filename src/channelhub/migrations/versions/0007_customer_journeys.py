"""customer journeys: loyalty, consent, carts, recommendations, segments

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 02:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import channelhub.core.database

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("last_channel", sa.String(length=100), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("merged_into", sa.BigInteger(), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
        sa.UniqueConstraint("token", name="uq_carts_token"),
    )
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.create_index("ix_carts_profile_id_status", ["profile_id", "status"], unique=False)

    op.create_table(
        "consent_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column(
            "recorded_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index("ix_consent_events_profile_id", ["profile_id"], unique=False)

    op.create_table(
        "customer_interactions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_interactions")),
    )
    with op.batch_alter_table("customer_interactions", schema=None) as batch_op:
        batch_op.create_index("ix_customer_interactions_profile_id", ["profile_id"], unique=False)

    op.create_table(
        "customer_preferences",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column(
            "updated_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_preferences")),
        sa.UniqueConstraint("profile_id", "name", name="uq_customer_preferences_profile_id"),
    )
    op.create_table(
        "customer_segments",
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("recency_score", sa.Integer(), nullable=False),
        sa.Column("frequency_score", sa.Integer(), nullable=False),
        sa.Column("monetary_score", sa.Integer(), nullable=False),
        sa.Column("rfm_segment", sa.String(length=40), nullable=False),
        sa.Column(
            "channels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("channel_mix", sa.String(length=20), nullable=False),
        sa.Column("favourite_category", sa.String(length=100), nullable=True),
        sa.Column(
            "segments",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "computed_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_customer_segments")),
    )
    op.create_table(
        "journey_orders",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("placed_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_journey_orders")),
    )
    with op.batch_alter_table("journey_orders", schema=None) as batch_op:
        batch_op.create_index("ix_journey_orders_profile_id", ["profile_id"], unique=False)

    op.create_table(
        "journey_state",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_journey_state")),
    )
    op.create_table(
        "loyalty_ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_ledger")),
        sa.UniqueConstraint("source", name="uq_loyalty_ledger_source"),
    )
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_loyalty_ledger_order_id", ["order_id"], unique=False)
        batch_op.create_index("ix_loyalty_ledger_profile_id", ["profile_id"], unique=False)

    op.create_table(
        "loyalty_rules",
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("points_per_unit_milli", sa.Integer(), nullable=False),
        sa.Column("multiplier_percent", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_loyalty_rules")),
    )
    op.create_table(
        "product_pairs",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("other_sku", sa.String(length=100), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "sku", "other_sku", name="pk_product_pairs"),
    )
    op.create_table(
        "profile_products",
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("orders_count", sa.Integer(), nullable=False),
        sa.Column(
            "last_bought_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("profile_id", "sku", name="pk_profile_products"),
    )
    op.create_table(
        "store_popularity",
        sa.Column("location", sa.String(length=100), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("orders_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("location", "sku", name="pk_store_popularity"),
    )
    op.create_table(
        "cart_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cart_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column(
            "updated_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_cart_lines_cart_id_carts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_lines")),
        sa.UniqueConstraint("cart_id", "sku", name="uq_cart_lines_cart_id"),
    )


def downgrade() -> None:
    op.drop_table("cart_lines")
    op.drop_table("store_popularity")
    op.drop_table("profile_products")
    op.drop_table("product_pairs")
    op.drop_table("loyalty_rules")
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_ledger_profile_id")
        batch_op.drop_index("ix_loyalty_ledger_order_id")

    op.drop_table("loyalty_ledger")
    op.drop_table("journey_state")
    with op.batch_alter_table("journey_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_orders_profile_id")

    op.drop_table("journey_orders")
    op.drop_table("customer_segments")
    op.drop_table("customer_preferences")
    with op.batch_alter_table("customer_interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_interactions_profile_id")

    op.drop_table("customer_interactions")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_events_profile_id")

    op.drop_table("consent_events")
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.drop_index("ix_carts_profile_id_status")

    op.drop_table("carts")
