"""The outbox: events written in the same transaction as the change they announce."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Index, String, Table, or_
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

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


#: A reader stops tracking skipped ids when it jumped further than this at once (a restore).
MAX_GAP_SPAN = 10_000


@dataclass
class OutboxCursor:
    """Where one reader of the outbox stands, as stored in its state row.

    On PostgreSQL a lower outbox id can become visible after a higher one (transactions commit
    out of order), so the ids a reader jumps over are kept as gaps and read again until they
    appear or ``gap_seconds`` pass. SQLite serialises writers, so it never has gaps.
    """

    position: int = 0
    gaps: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, value: Mapping[str, Any] | None) -> OutboxCursor:
        value = value or {}
        return cls(int(value.get("position", 0)), dict(value.get("gaps", {})))

    def unread(self) -> ColumnElement[bool]:
        """The outbox rows this reader has not read yet."""
        condition: ColumnElement[bool] = outbox.c.id > self.position
        if self.gaps:
            condition = or_(condition, outbox.c.id.in_([int(g) for g in self.gaps]))
        return condition

    def advance(self, seen: Sequence[int], dialect: str, gap_seconds: float) -> None:
        """Move past the ids read (ascending), remembering the ones skipped as gaps."""
        if not seen:
            return
        for found in seen:
            self.gaps.pop(str(found), None)
        top = max(self.position, seen[-1])
        if dialect == "postgresql" and top - self.position <= MAX_GAP_SPAN:
            now = time.time()
            fresh = set(seen)
            for missing in range(self.position + 1, top):
                if missing not in fresh:
                    self.gaps.setdefault(str(missing), now)
            self.gaps = {g: t for g, t in self.gaps.items() if now - t < gap_seconds}
        self.position = top

    def expire(self, gap_seconds: float, now: float | None = None) -> bool:
        """Give up the gaps older than ``gap_seconds`` (their transactions rolled back);
        whether any went. Called when nothing new arrived too, or a quiet outbox would keep
        them forever and look unread."""
        now = time.time() if now is None else now
        kept = {g: t for g, t in self.gaps.items() if now - t < gap_seconds}
        changed = len(kept) != len(self.gaps)
        self.gaps = kept
        return changed

    def stored(self) -> dict[str, Any]:
        return {"position": self.position, "gaps": self.gaps}
