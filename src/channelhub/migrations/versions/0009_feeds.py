"""product feeds: feed definitions and published item state

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 02:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import channelhub.core.database

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("settings", _JSON, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_feeds_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("code", name=op.f("uq_feeds_code")),
    )
    op.create_table(
        "feed_versions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column(
            "started_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "finished_at", channelhub.core.database.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=100), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("report", _JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_feed_versions_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_versions")),
        sa.UniqueConstraint("feed_id", "number", name="uq_feed_versions_feed_number"),
    )
    op.create_table(
        "feed_items",
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_feed_items_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feed_id", "item_key", name=op.f("pk_feed_items")),
    )
    op.create_index(
        "ix_feed_items_feed_id_product_id", "feed_items", ["feed_id", "product_id"], unique=False
    )
    op.create_table(
        "feed_item_changes",
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=True),
        sa.Column("was_stored", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_feed_item_changes_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feed_id", "number", "item_key", name=op.f("pk_feed_item_changes")),
    )


def downgrade() -> None:
    op.drop_table("feed_item_changes")
    op.drop_index("ix_feed_items_feed_id_product_id", table_name="feed_items")
    op.drop_table("feed_items")
    op.drop_table("feed_versions")
    op.drop_table("feeds")
