"""Catalog tables and the set-based queries over them."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from channelhub.core.database import BigId, JsonType, UtcDateTime, metadata

locales = Table(
    "locales",
    metadata,
    Column("code", String(10), primary_key=True),
    Column("label", String(100), nullable=False, default=""),
)

channels = Table(
    "channels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("locales", JsonType, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

attributes = Table(
    "attributes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("type", String(20), nullable=False),
    Column("localizable", Boolean, nullable=False, default=False),
    Column("scopable", Boolean, nullable=False, default=False),
    Column("labels", JsonType, nullable=False),
    Column("options", JsonType, nullable=False),
    Column("max_length", Integer, nullable=True),
    Column("units", JsonType, nullable=False),
    Column("identifier_kind", String(20), nullable=True),
)

families = Table(
    "families",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("labels", JsonType, nullable=False),
    Column("attributes", JsonType, nullable=False),
    Column("required", JsonType, nullable=False),
    Column("variant_axes", JsonType, nullable=False),
)

categories = Table(
    "categories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("parent_id", Integer, ForeignKey("categories.id"), nullable=True),
    # Materialized path of codes ("/clothing/shirts/"), so a subtree is one prefix match.
    Column("path", String(2000), nullable=False),
    Column("labels", JsonType, nullable=False),
    Index("ix_categories_path", "path"),
)

products = Table(
    "products",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("sku", String(100), nullable=False, unique=True),
    Column("kind", String(10), nullable=False),
    Column("parent_id", BigId, ForeignKey("products.id"), nullable=True),
    Column("family_id", Integer, ForeignKey("families.id"), nullable=True),
    Column("status", String(20), nullable=False),
    Column("values", JsonType, nullable=False),
    Column("search_text", Text, nullable=False),
    # {channel: {locale: [required, satisfied, [missing...]]}}, computed in the same write.
    Column("completeness", JsonType, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The write that last changed the product ("api", "import:<run>", ...).
    Column("source", String(50), nullable=False),
    Index("ix_products_family_id", "family_id"),
    Index("ix_products_parent_id", "parent_id"),
    Index("ix_products_status", "status"),
)

product_categories = Table(
    "product_categories",
    metadata,
    Column("product_id", BigId, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("category_id", Integer, ForeignKey("categories.id"), nullable=False),
    PrimaryKeyConstraint("product_id", "category_id"),
    Index("ix_product_categories_category_id", "category_id"),
)

channel_requirements = Table(
    "channel_requirements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("family_id", Integer, ForeignKey("families.id", ondelete="CASCADE"), nullable=True),
    Column("attribute", String(100), nullable=False),
    Column("rule", String(20), nullable=False),
    Column("param", JsonType, nullable=True),
    Column("locales", JsonType, nullable=True),
    Index("ix_channel_requirements_channel_id", "channel_id"),
)

# One row per (product, channel, locale) that is NOT complete: the index behind "what is
# missing on bol.com" and "complete for Google". Complete pairs have no row, so a catalog
# that is mostly complete stays small here.
product_gaps = Table(
    "product_gaps",
    metadata,
    Column("product_id", BigId, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("locale", String(10), nullable=False),
    PrimaryKeyConstraint("channel_id", "locale", "product_id"),
    Index("ix_product_gaps_product_id", "product_id"),
)

product_changes = Table(
    "product_changes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("product_id", BigId, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("source", String(50), nullable=False),
    Column("changes", JsonType, nullable=False),
    Index("ix_product_changes_product_id", "product_id", "id"),
)
