"""Automation's tables: rule versions, what each rule did with each event, offers on hold,
outbound webhook subscriptions and their deliveries, files already imported, and positions."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from channelhub.core.database import BigId, JsonType, UtcDateTime, metadata

rules = Table(
    "automation_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JsonType, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("is_current", Boolean, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("code", "version", name="uq_automation_rules_version"),
    Index("ix_automation_rules_current", "is_current", "code"),
)

rule_runs = Table(
    "automation_rule_runs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("rule_code", String(100), nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("event_id", BigInteger, nullable=False),
    Column("event", String(100), nullable=False),
    Column("outcome", String(20), nullable=False),  # applied | skipped | failed
    Column("detail", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # Each rule is applied to each event once, whatever the number of workers or replays.
    UniqueConstraint("rule_code", "event_id", name="uq_automation_rule_runs_once"),
)

holds = Table(
    "automation_holds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(100), nullable=False),
    Column("sku", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("channel", "sku", name="uq_automation_holds"),
)

subscriptions = Table(
    "automation_webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),  # Fernet token
    Column("events", JsonType, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

deliveries = Table(
    "automation_deliveries",
    metadata,
    Column("id", BigId, primary_key=True),
    # A delivery goes to a webhook subscription, or forwards an order to a connection.
    Column(
        "webhook_id",
        Integer,
        ForeignKey("automation_webhooks.id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("connection", String(100), nullable=True),
    Column("dedupe_key", String(255), nullable=False, unique=True),
    Column("event", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(20), nullable=False),  # new | failed | done | dead
    Column("attempts", Integer, nullable=False),
    Column("not_before", UtcDateTime(), nullable=False),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Index("ix_automation_deliveries_due", "state", "not_before"),
)

file_imports = Table(
    "automation_file_imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("connection", String(100), nullable=False),
    Column("name", String(500), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("records", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("connection", "name", "digest", name="uq_automation_file_imports"),
)

order_tags = Table(
    "automation_order_tags",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("order_id", BigInteger, nullable=False),
    Column("tag", String(50), nullable=False),
    Column("note", Text, nullable=False),
    Column("rule_code", String(100), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("order_id", "tag", name="uq_automation_order_tags"),
)

positions = Table(
    "automation_positions",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", JsonType, nullable=False),
)
