"""The outbox: events written in the same transaction as the change they announce."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Column, Index, String, Table
from sqlalchemy.engine import Connection

from channelhub.core.database import BigId, JsonType, UtcDateTime, metadata, utcnow

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("topic", String(100), nullable=False),
    Column("key", String(255), nullable=False),
    Column("payload", JsonType, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_outbox_topic_id", "topic", "id"),
)


def record_event(conn: Connection, topic: str, key: str, payload: Mapping[str, Any]) -> None:
    """Write one event to the outbox inside the caller's transaction."""
    record_events(conn, topic, [(key, payload)])


def record_events(
    conn: Connection, topic: str, events: Iterable[tuple[str, Mapping[str, Any]]]
) -> None:
    """Write many events of one topic in one statement."""
    from channelhub.core.bulk import BulkInsert  # bulk imports events' table module

    now = utcnow()
    BulkInsert(conn, outbox, ("topic", "key", "payload", "created_at")).run(
        [(topic, key, dict(payload), now) for key, payload in events]
    )
