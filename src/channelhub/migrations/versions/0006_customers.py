"""customers: identity graph, profiles, golden record

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 02:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import channelhub.core.database

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_audit")),
    )
    with op.batch_alter_table("customer_audit", schema=None) as batch_op:
        batch_op.create_index("ix_customer_audit_profile_id", ["profile_id"], unique=False)

    op.create_table(
        "customer_profiles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "merged_into", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "golden",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("erased_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into"],
            ["customer_profiles.id"],
            name=op.f("fk_customer_profiles_merged_into_customer_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_profiles")),
    )
    with op.batch_alter_table("customer_profiles", schema=None) as batch_op:
        batch_op.create_index("ix_customer_profiles_merged_into", ["merged_into"], unique=False)

    op.create_table(
        "customer_refusals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("rule", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_refusals")),
    )
    with op.batch_alter_table("customer_refusals", schema=None) as batch_op:
        batch_op.create_index("ix_customer_refusals_profile_id", ["profile_id"], unique=False)

    op.create_table(
        "customer_settings",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "updated_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_customer_settings")),
    )
    op.create_table(
        "customer_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "home_profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=False),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        sa.Column(
            "observed_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("block_postcode", sa.String(length=40), nullable=True),
        sa.Column("block_birth", sa.String(length=40), nullable=True),
        sa.Column("erased_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["home_profile_id"],
            ["customer_profiles.id"],
            name=op.f("fk_customer_records_home_profile_id_customer_profiles"),
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["customer_profiles.id"],
            name=op.f("fk_customer_records_profile_id_customer_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_records")),
        sa.UniqueConstraint("channel", "source_ref", name="uq_customer_records_channel_source_ref"),
    )
    with op.batch_alter_table("customer_records", schema=None) as batch_op:
        batch_op.create_index("ix_customer_records_block_birth", ["block_birth"], unique=False)
        batch_op.create_index(
            "ix_customer_records_block_postcode", ["block_postcode"], unique=False
        )
        batch_op.create_index("ix_customer_records_profile_id", ["profile_id"], unique=False)

    op.create_table(
        "customer_identifiers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["customer_records.id"],
            name=op.f("fk_customer_identifiers_record_id_customer_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_identifiers")),
        sa.UniqueConstraint("record_id", "kind", "value", name="uq_customer_identifiers_record_id"),
    )
    with op.batch_alter_table("customer_identifiers", schema=None) as batch_op:
        batch_op.create_index("ix_customer_identifiers_kind_value", ["kind", "value"], unique=False)

    op.create_table(
        "customer_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column(
            "record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "other_record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "merged_profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("identifier_kind", sa.String(length=30), nullable=True),
        sa.Column("identifier_value", sa.String(length=320), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("undoes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["other_record_id"],
            ["customer_records.id"],
            name=op.f("fk_customer_links_other_record_id_customer_records"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["customer_records.id"],
            name=op.f("fk_customer_links_record_id_customer_records"),
        ),
        sa.ForeignKeyConstraint(
            ["undoes"], ["customer_links.id"], name=op.f("fk_customer_links_undoes_customer_links")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_links")),
    )
    with op.batch_alter_table("customer_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_links_other_record_id", ["other_record_id"], unique=False
        )
        batch_op.create_index("ix_customer_links_profile_id", ["profile_id"], unique=False)
        batch_op.create_index("ix_customer_links_record_id", ["record_id"], unique=False)
        batch_op.create_index("ix_customer_links_undoes", ["undoes"], unique=False)

    op.create_table(
        "customer_match_suggestions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("record_a", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("record_b", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("link_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["record_a"],
            ["customer_records.id"],
            name=op.f("fk_customer_match_suggestions_record_a_customer_records"),
        ),
        sa.ForeignKeyConstraint(
            ["record_b"],
            ["customer_records.id"],
            name=op.f("fk_customer_match_suggestions_record_b_customer_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_match_suggestions")),
        sa.UniqueConstraint("record_a", "record_b", name="uq_customer_match_suggestions_record_a"),
    )
    with op.batch_alter_table("customer_match_suggestions", schema=None) as batch_op:
        batch_op.create_index("ix_customer_match_suggestions_status", ["status"], unique=False)

    op.create_table(
        "customer_order_links",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_customer_order_links_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["customer_profiles.id"],
            name=op.f("fk_customer_order_links_profile_id_customer_profiles"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["customer_records.id"],
            name=op.f("fk_customer_order_links_record_id_customer_records"),
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_customer_order_links")),
    )
    with op.batch_alter_table("customer_order_links", schema=None) as batch_op:
        batch_op.create_index("ix_customer_order_links_profile_id", ["profile_id"], unique=False)


def downgrade() -> None:
    op.drop_table("customer_order_links")
    op.drop_table("customer_match_suggestions")
    op.drop_table("customer_links")
    op.drop_table("customer_identifiers")
    op.drop_table("customer_records")
    op.drop_table("customer_settings")
    op.drop_table("customer_refusals")
    op.drop_table("customer_profiles")
    op.drop_table("customer_audit")
