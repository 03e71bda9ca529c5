"""The journeys' reader of the order events in the outbox: new orders earn points and feed
the recommendation counts, cancellations and returns take points back.

The position is kept in ``journey_state`` and locked while reading, so with many workers one
reads at a time. On PostgreSQL, outbox ids are handed out before commit, so a lower id can
become visible after a higher one: ids skipped over are remembered as gaps and looked for
again until they appear or are old enough to be a rolled-back transaction's (as the sync
dispatcher does). Every effect is idempotent (one booking per order, return or event), so
reading an event twice changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from channelhub.core.database import Database
from channelhub.core.events import OutboxCursor, outbox
from channelhub.customers.journeys import purchases, store
from channelhub.orders.model import OrderStatus

POSITION = "feed.position"
GAP_SECONDS = 60.0
STATUS_CHANGED = "orders.status_changed"
RETURNED = "orders.returned"
ENDED = frozenset({OrderStatus.CANCELLED.value, OrderStatus.REJECTED.value})


def _lock_position(conn: Connection) -> dict[str, Any]:
    store.insert_new(
        conn,
        store.journey_state,
        [{"name": POSITION, "value": {"position": 0, "gaps": {}}}],
        ["name"],
    )
    query = select(store.journey_state.c.value).where(store.journey_state.c.name == POSITION)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return dict(conn.execute(query).scalar_one())


def _apply(conn: Connection, event_id: int, topic: str, payload: dict[str, Any]) -> None:
    order_id = payload.get("order_id")
    if not isinstance(order_id, int):
        return
    if topic == STATUS_CHANGED:
        if payload.get("from") is None:
            purchases.record_order(conn, order_id)
        if payload.get("to") in ENDED:
            purchases.cancel_order(conn, order_id)
    elif topic == RETURNED:
        purchases.return_order(conn, order_id, event_id)


def process_order_events(db: Database, limit: int = 500) -> int:
    """Read the next order events of the outbox and apply them; the number of events read
    (of any topic). Call it until it returns 0 to catch up."""
    with db.transaction() as conn:
        value = _lock_position(conn)
        cursor = OutboxCursor.load(value)
        rows = conn.execute(
            select(outbox.c.id, outbox.c.topic, outbox.c.payload)
            .where(cursor.unread())
            .order_by(outbox.c.id)
            .limit(limit)
        ).all()
        for row in rows:
            if row.topic in (STATUS_CHANGED, RETURNED):
                _apply(conn, int(row.id), row.topic, dict(row.payload))
        purchases.catch_up_links(conn)
        if not rows:
            return 0
        cursor.advance([int(r.id) for r in rows], conn.dialect.name, GAP_SECONDS)
        conn.execute(
            update(store.journey_state)
            .where(store.journey_state.c.name == POSITION)
            .values(value=cursor.stored())
        )
        return len(rows)


def catch_up(db: Database, batch: int = 500) -> int:
    """Process order events until none is left; how many events were read."""
    total = 0
    while True:
        read = process_order_events(db, batch)
        total += read
        if read == 0:
            return total
