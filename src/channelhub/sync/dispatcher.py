"""The dispatcher: reads the outbox after its persisted position and fans each event out to
per-connection jobs, by what each connection subscribes to.

On PostgreSQL, outbox ids are handed out before commit, so a lower id can become visible after
a higher one: ids skipped over are remembered as gaps and looked for again until they appear or
are old enough to be a rolled-back transaction's. SQLite writes one transaction at a time, so
its ids appear in order. The position row is locked while dispatching: with many workers, one
dispatches at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from channelhub.core.database import Database
from channelhub.core.events import OutboxCursor, outbox
from channelhub.sync.jobs import Enqueue, enqueue
from channelhub.sync.model import JobKind, fanout_of
from channelhub.sync.store import connections, state

POSITION = "dispatcher.position"
GAP_SECONDS = 60.0


@dataclass(frozen=True)
class _Subscriber:
    id: int
    channel: str
    kinds: frozenset[JobKind]


def _lock_position(conn: Connection) -> dict[str, Any]:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(state)
        .values(name=POSITION, value={"position": 0, "gaps": {}})
        .on_conflict_do_nothing(index_elements=[state.c.name])
    )
    query = select(state.c.value).where(state.c.name == POSITION)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    value: dict[str, Any] = dict(conn.execute(query).scalar_one())
    return value


def _subscribers(conn: Connection) -> list[_Subscriber]:
    c = connections.c
    return [
        _Subscriber(r.id, r.channel, frozenset(JobKind(s) for s in r.subscriptions))
        for r in conn.execute(select(c.id, c.channel, c.subscriptions).where(c.enabled.is_(True)))
    ]


def dispatch_once(db: Database, limit: int = 5000) -> int:
    """Turn the next outbox events into jobs; the number of events read (run again from the
    start when PostgreSQL aborts it for a deadlock with a worker recording outcomes)."""

    def dispatch(conn: Connection) -> int:
        value = _lock_position(conn)
        cursor = OutboxCursor.load(value)
        rows = conn.execute(
            select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload)
            .where(cursor.unread())
            .order_by(outbox.c.id)
            .limit(limit)
        ).all()
        if not rows:
            if cursor.expire(GAP_SECONDS):
                conn.execute(
                    update(state).where(state.c.name == POSITION).values(value=cursor.stored())
                )
            return 0
        subscribers = _subscribers(conn)
        items: list[Enqueue] = []
        for row in rows:
            fanout = fanout_of(row.topic, row.key, row.payload)
            if fanout is None:
                continue
            for sub in subscribers:
                if fanout.kind in sub.kinds and fanout.channel in (None, sub.channel):
                    items.append(Enqueue(sub.id, fanout.kind, fanout.key, row.id))
        enqueue(conn, items)
        cursor.advance([r.id for r in rows], conn.dialect.name, GAP_SECONDS)
        conn.execute(update(state).where(state.c.name == POSITION).values(value=cursor.stored()))
        return len(rows)

    return db.retrying(dispatch)


def has_new_events(db: Database, count_gaps: bool = True) -> bool:
    """Whether the outbox holds events after the dispatcher's position (a cheap look).
    ``count_gaps=False`` leaves out ids skipped over and still waited for, which are mostly
    writes that rolled back (a poison message's attempts leave one each)."""
    with db.read() as conn:
        value = conn.execute(select(state.c.value).where(state.c.name == POSITION)).scalar()
        cursor = OutboxCursor.load(value)
        position = cursor.position
        cursor.expire(GAP_SECONDS)  # a gap past its time is a rolled-back write, not news
        if count_gaps and cursor.gaps:
            return True
        newer = conn.execute(select(outbox.c.id).where(outbox.c.id > position).limit(1)).first()
        return newer is not None
