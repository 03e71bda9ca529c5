"""The sync engine's tables: connections, jobs, the inbox, the message log and the engine's
own persisted positions (dispatcher position, poll cursors)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from channelhub.core.database import BigId, JsonType, UtcDateTime, metadata

_Id = BigId

connections = Table(
    "sync_connections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("platform", String(50), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("config", JsonType, nullable=False),  # the non-secret fields
    Column("secrets", Text, nullable=True),  # Fernet token of the secret fields as JSON
    Column("enabled", Boolean, nullable=False),
    Column("subscriptions", JsonType, nullable=False),
    Column("mapping", JsonType, nullable=False),
    Column("poll_seconds", Integer, nullable=True),
    Column("poll_cursor", Text, nullable=True),
    Column("next_poll_at", UtcDateTime(), nullable=True),
    Column("reconcile_seconds", Integer, nullable=True),
    Column("next_reconcile_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

jobs = Table(
    "sync_jobs",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("connection_id", Integer, ForeignKey("sync_connections.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("key", String(255), nullable=False),
    Column("state", String(20), nullable=False),
    # "kind:key" while the job has not started (new, failed): at most one such job per key.
    Column("open_key", String(300), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("not_before", UtcDateTime(), nullable=False),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("pending", Text, nullable=True),
    Column("pending_since", UtcDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("event_id", BigInteger, nullable=True),  # the newest outbox event folded in
    Column("force", Boolean, nullable=False),  # deliver even when nothing seems to differ
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    UniqueConstraint("connection_id", "open_key", name="uq_sync_jobs_open"),
    Index("ix_sync_jobs_state_due", "state", "not_before"),
    Index("ix_sync_jobs_key", "connection_id", "kind", "key", "state"),
)

inbox = Table(
    "sync_inbox",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("connection_id", Integer, ForeignKey("sync_connections.id"), nullable=False),
    Column("dedupe_key", String(255), nullable=False),
    Column("topic", String(100), nullable=False),
    Column("entity", String(255), nullable=True),
    Column("body", Text, nullable=False),  # raw, as received (the signature covers it)
    Column("headers", JsonType, nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("applied_at", UtcDateTime(), nullable=True),
    UniqueConstraint("connection_id", "dedupe_key", name="uq_sync_inbox_dedupe"),
    Index("ix_sync_inbox_state", "state", "id"),
)

messages = Table(
    "sync_messages",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("connection_id", Integer, nullable=True),
    Column("direction", String(3), nullable=False),  # in | out
    Column("kind", String(20), nullable=True),
    Column("keys", Text, nullable=True),  # " k1 k2 " so that a search by key is a LIKE
    Column("status", String(30), nullable=False),
    Column("attempt", Integer, nullable=True),
    Column("latency_s", Float, nullable=True),
    Column("method", String(10), nullable=True),
    Column("url", Text, nullable=True),
    Column("request_body", Text, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_sync_messages_connection_at", "connection_id", "id"),
)

state = Table(
    "sync_state",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", JsonType, nullable=False),
)
