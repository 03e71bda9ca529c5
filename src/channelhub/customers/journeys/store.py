"""Tables of the customer journeys: loyalty, consent, interactions, preferences, carts,
recommendation counts, segments and the position of the order-event feed.

Every personal row carries the profile id it was written for; readers gather the rows of all
the profile ids that make up one customer now (``identity.profile_members``), so a merge or an
unmerge in the identity graph never rewrites these rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from channelhub.core.database import BigId, JsonType, UtcDateTime, metadata

# --- loyalty --------------------------------------------------------------------------------

loyalty_rules = Table(
    "loyalty_rules",
    metadata,
    # A channel code, or "*" for the rule of every channel without its own.
    Column("channel", String(100), primary_key=True),
    Column("points_per_unit_milli", Integer, nullable=False),  # points per currency unit x 1000
    Column("multiplier_percent", Integer, nullable=False),  # 100 = x1, 200 = double points
    Column("updated_at", UtcDateTime(), nullable=False),
)

loyalty_ledger = Table(
    "loyalty_ledger",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("profile_id", BigId, nullable=False),
    Column("points", BigInteger, nullable=False),  # earned > 0, burned or reversed < 0
    Column("kind", String(20), nullable=False),
    Column("channel", String(100), nullable=True),
    # What caused the entry ("order:12", "return:12:340", "burn:pos-77"): each cause once.
    Column("source", String(200), nullable=False),
    Column("order_id", BigInteger, nullable=True),
    Column("note", String(500), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("source", name="uq_loyalty_ledger_source"),
    Index("ix_loyalty_ledger_profile_id", "profile_id"),
    Index("ix_loyalty_ledger_order_id", "order_id"),
)

# --- consent, interactions, preferences ----------------------------------------------------

consent_events = Table(
    "consent_events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("profile_id", BigId, nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("source", String(100), nullable=False),  # the channel or tool that recorded it
    Column("note", String(500), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index("ix_consent_events_profile_id", "profile_id"),
)

customer_interactions = Table(
    "customer_interactions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("profile_id", BigId, nullable=False),
    Column("kind", String(20), nullable=False),  # note, ticket, chat
    Column("channel", String(100), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False),  # open, closed (a note is closed at once)
    Column("author", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_customer_interactions_profile_id", "profile_id"),
)

customer_preferences = Table(
    "customer_preferences",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("profile_id", BigId, nullable=False),
    Column("name", String(100), nullable=False),
    Column("value", JsonType, nullable=False),
    Column("source", String(100), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("profile_id", "name", name="uq_customer_preferences_profile_id"),
)

# --- carts ----------------------------------------------------------------------------------

carts = Table(
    "carts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("token", String(64), nullable=False),  # the id clients use; unguessable
    Column("profile_id", BigId, nullable=True),  # None while anonymous
    Column("channel", String(100), nullable=False),  # where it was started
    Column("last_channel", String(100), nullable=False),  # where it was used last
    Column("location", String(100), nullable=True),  # the store whose till picked it up
    Column("status", String(20), nullable=False),  # active, merged, checked_out
    Column("currency", String(3), nullable=False),
    Column("merged_into", BigInteger, nullable=True),
    Column("order_id", BigInteger, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("token", name="uq_carts_token"),
    Index("ix_carts_profile_id_status", "profile_id", "status"),
)

cart_lines = Table(
    "cart_lines",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("cart_id", BigId, ForeignKey("carts.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(100), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("channel", String(100), nullable=False),  # where the line was last changed
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("cart_id", "sku", name="uq_cart_lines_cart_id"),
)

# --- what was bought: the facts recommendations and segments are counted from -------------

journey_orders = Table(
    "journey_orders",
    metadata,
    Column("order_id", BigInteger, primary_key=True),
    Column("profile_id", BigId, nullable=True),
    Column("channel", String(100), nullable=False),
    Column("location", String(100), nullable=True),  # the store of a till sale or pickup
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("placed_at", UtcDateTime(), nullable=False),
    Index("ix_journey_orders_profile_id", "profile_id"),
)

profile_products = Table(
    "profile_products",
    metadata,
    Column("profile_id", BigId, nullable=False),
    Column("sku", String(100), nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("orders_count", Integer, nullable=False),
    Column("last_bought_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("profile_id", "sku", name="pk_profile_products"),
)

#: Co-occurrence counts: kind "together" counts orders holding both SKUs, kind "also" counts
#: customers who bought both (in any orders, on any channels). Both directions are stored.
product_pairs = Table(
    "product_pairs",
    metadata,
    Column("kind", String(10), nullable=False),
    Column("sku", String(100), nullable=False),
    Column("other_sku", String(100), nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "sku", "other_sku", name="pk_product_pairs"),
)

store_popularity = Table(
    "store_popularity",
    metadata,
    Column("location", String(100), nullable=False),
    Column("sku", String(100), nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("orders_count", BigInteger, nullable=False),
    PrimaryKeyConstraint("location", "sku", name="pk_store_popularity"),
)

# --- segments -------------------------------------------------------------------------------

customer_segments = Table(
    "customer_segments",
    metadata,
    Column("profile_id", BigId, primary_key=True),
    Column("recency_days", Integer, nullable=False),
    Column("frequency", Integer, nullable=False),
    Column("monetary_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("recency_score", Integer, nullable=False),
    Column("frequency_score", Integer, nullable=False),
    Column("monetary_score", Integer, nullable=False),
    Column("rfm_segment", String(40), nullable=False),
    Column("channels", JsonType, nullable=False),
    Column("channel_mix", String(20), nullable=False),
    Column("favourite_category", String(100), nullable=True),
    Column("segments", JsonType, nullable=False),  # the codes promotions can target
    Column("computed_at", UtcDateTime(), nullable=False),
)

# --- the order-event feed's position --------------------------------------------------------

journey_state = Table(
    "journey_state",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", JsonType, nullable=False),
)


# --- helpers --------------------------------------------------------------------------------


def insert_new(conn: Connection, table: Table, rows: list[dict[str, Any]], key: list[str]) -> int:
    """Insert the rows whose ``key`` is not there yet; returns how many were inserted."""
    if not rows:
        return 0
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    result = conn.execute(insert(table).on_conflict_do_nothing(index_elements=key), rows)
    return int(result.rowcount or 0)


def add_counts(
    conn: Connection, table: Table, rows: list[dict[str, Any]], key: list[str], counts: list[str]
) -> None:
    """Upsert rows, adding their ``counts`` to those already stored under the same ``key``."""
    if not rows:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=key,
        set_={name: table.c[name] + statement.excluded[name] for name in counts},
    )
    conn.execute(statement, rows)


def lock_profile(conn: Connection, profile_id: int) -> None:
    """Serialize writers of one customer (balance checks): a transaction-scoped advisory lock
    on PostgreSQL; SQLite write transactions are serialized already (BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": 6007, "key": profile_id % 2_147_483_647},
        )
