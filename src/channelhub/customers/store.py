"""Customer tables: profiles, the source records and identifiers behind them, the append-only
link log (merges and unmerges with their reasons), refusals of the blob guards, probabilistic
match suggestions, order links, the data-protection audit and the merge rules.

A *record* is what one channel knows of a customer (an account, a guest order, a loyalty card,
an app install), keyed by ``(channel, source_ref)``. A *profile* is a connected component of
records in the identity graph whose edges are the active ``link`` rows of ``customer_links``.
``customer_records.profile_id`` caches that component's surviving profile id; an absorbed
profile keeps its row with ``merged_into`` pointing at the survivor (a redirect).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from channelhub.core.database import BigId, JsonType, UtcDateTime, metadata

customer_profiles = Table(
    "customer_profiles",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    #: Set when this profile was absorbed by an older one: the redirect to follow.
    Column("merged_into", BigId, ForeignKey("customer_profiles.id"), nullable=True),
    #: {field: {"value": ..., "source": {"channel", "record_id", "source_ref", "observed_at"}}}
    Column("golden", JsonType, nullable=False),
    Column("erased_at", UtcDateTime(), nullable=True),
    Index("ix_customer_profiles_merged_into", "merged_into"),
)

customer_records = Table(
    "customer_records",
    metadata,
    Column("id", BigId, primary_key=True),
    #: The surviving profile this record belongs to now (kept current on merge and unmerge).
    Column("profile_id", BigId, ForeignKey("customer_profiles.id"), nullable=False),
    #: The profile the record was first placed in (what an unmerge restores).
    Column("home_profile_id", BigId, ForeignKey("customer_profiles.id"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("source_ref", String(200), nullable=False),
    #: Personal attributes as the channel gave them (names, address, birth date, ...).
    Column("attributes", JsonType, nullable=False),
    Column("seen_count", Integer, nullable=False),
    Column("observed_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    #: The written name as one key (``names.name_key``): how many different people share a
    #: value is counted over it.
    Column("name_key", String(100), nullable=True),
    #: Blocking keys for the probabilistic matcher (postcode + surname initial; birth date +
    #: surname initial).
    Column("block_postcode", String(40), nullable=True),
    Column("block_birth", String(40), nullable=True),
    Column("erased_at", UtcDateTime(), nullable=True),
    UniqueConstraint("channel", "source_ref", name="uq_customer_records_channel_source_ref"),
    Index("ix_customer_records_profile_id", "profile_id"),
    Index("ix_customer_records_block_postcode", "block_postcode"),
    Index("ix_customer_records_block_birth", "block_birth"),
)

customer_identifiers = Table(
    "customer_identifiers",
    metadata,
    Column("id", BigId, primary_key=True),
    Column(
        "record_id",
        BigId,
        ForeignKey("customer_records.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(30), nullable=False),
    Column("value", String(320), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("record_id", "kind", "value", name="uq_customer_identifiers_record_id"),
    Index("ix_customer_identifiers_kind_value", "kind", "value"),
)

#: The append-only identity log. ``link`` joins two records (and so their profiles);
#: ``unlink`` undoes one earlier link (``undoes``) and keeps its two records apart from then on.
customer_links = Table(
    "customer_links",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("action", String(10), nullable=False),
    Column("record_id", BigId, ForeignKey("customer_records.id"), nullable=False),
    Column("other_record_id", BigId, ForeignKey("customer_records.id"), nullable=False),
    #: The surviving profile and the absorbed one at the time (None: no merge was needed).
    Column("profile_id", BigId, nullable=False),
    Column("merged_profile_id", BigId, nullable=True),
    Column("method", String(20), nullable=False),  # deterministic | probabilistic | manual
    Column("identifier_kind", String(30), nullable=True),
    Column("identifier_value", String(320), nullable=True),
    Column("score", Float, nullable=True),
    Column("reason", String(500), nullable=False),
    Column("undoes", BigId, ForeignKey("customer_links.id"), nullable=True),
    Column("actor", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_customer_links_record_id", "record_id"),
    Index("ix_customer_links_other_record_id", "other_record_id"),
    Index("ix_customer_links_profile_id", "profile_id"),
    Index("ix_customer_links_undoes", "undoes"),
)

#: What the blob guards refused to merge on, and why.
customer_refusals = Table(
    "customer_refusals",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("record_id", BigId, nullable=True),
    Column("profile_id", BigId, nullable=True),
    Column("kind", String(30), nullable=False),
    Column("value", String(320), nullable=False),
    Column("rule", String(30), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_customer_refusals_profile_id", "profile_id"),
)

#: Values shared by many different names (or known fillers, or the retailer's own numbers and
#: addresses): ``quarantined`` and ``blocked`` ones never merge profiles, ``released`` ones
#: merge under the usual rules and are not quarantined again automatically.
customer_shared_values = Table(
    "customer_shared_values",
    metadata,
    Column("kind", String(30), primary_key=True),
    Column("value", String(320), primary_key=True),
    Column("status", String(20), nullable=False),  # quarantined | released | blocked
    #: detected (counted), placeholder (a known filler), location (a store's), person
    Column("source", String(20), nullable=False),
    Column("names", Integer, nullable=False),
    Column("records", Integer, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("decided_by", String(200), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_customer_shared_values_status", "status"),
)

customer_match_suggestions = Table(
    "customer_match_suggestions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("record_a", BigId, ForeignKey("customer_records.id"), nullable=False),
    Column("record_b", BigId, ForeignKey("customer_records.id"), nullable=False),
    Column("score", Float, nullable=False),
    Column("details", JsonType, nullable=False),
    Column("status", String(20), nullable=False),  # pending | linked | confirmed | rejected
    Column("link_id", BigId, nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("record_a", "record_b", name="uq_customer_match_suggestions_record_a"),
    Index("ix_customer_match_suggestions_status", "status"),
)

#: Which profile an order's customer resolved to (the profile at the time; follow redirects).
customer_order_links = Table(
    "customer_order_links",
    metadata,
    Column(
        "order_id",
        BigId,
        ForeignKey("orders.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("profile_id", BigId, ForeignKey("customer_profiles.id"), nullable=False),
    Column("record_id", BigId, ForeignKey("customer_records.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_customer_order_links_profile_id", "profile_id"),
)

#: Data-protection exports and erasures (who, when, what).
customer_audit = Table(
    "customer_audit",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("action", String(20), nullable=False),
    Column("profile_id", BigId, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("details", JsonType, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_customer_audit_profile_id", "profile_id"),
)

#: Small named values: the merge rules, the order-event position of the import hook.
customer_settings = Table(
    "customer_settings",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", JsonType, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

__all__ = [
    "customer_audit",
    "customer_identifiers",
    "customer_links",
    "customer_match_suggestions",
    "customer_order_links",
    "customer_profiles",
    "customer_records",
    "customer_refusals",
    "customer_settings",
    "customer_shared_values",
]
