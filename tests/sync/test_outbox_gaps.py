"""A gap in the outbox ids (a PostgreSQL transaction that took an id and rolled back, as a
poison message's does at each attempt) is given up after its time even when nothing new
arrives; before, a quiet outbox kept it forever and the sync never looked settled."""

from __future__ import annotations

import time

from sqlalchemy import update

from channelhub.core.database import Database
from channelhub.core.events import OutboxCursor
from channelhub.sync.dispatcher import GAP_SECONDS, POSITION, dispatch_once, has_new_events
from channelhub.sync.store import state


def test_an_old_gap_expires_without_new_events() -> None:
    cursor = OutboxCursor(10, {"7": 100.0, "9": 190.0})
    assert cursor.expire(gap_seconds=60, now=200.0)
    assert cursor.gaps == {"9": 190.0}
    assert not cursor.expire(gap_seconds=60, now=200.0)


def test_a_quiet_outbox_with_an_old_gap_is_settled(db: Database) -> None:
    dispatch_once(db)  # creates the position row
    old = time.time() - GAP_SECONDS - 1
    with db.transaction() as conn:
        conn.execute(
            update(state)
            .where(state.c.name == POSITION)
            .values(value={"position": 10, "gaps": {"7": old}})
        )
    assert not has_new_events(db)
    assert dispatch_once(db) == 0
    with db.read() as conn:
        stored = conn.execute(state.select().where(state.c.name == POSITION)).one()
    assert stored.value["gaps"] == {}


def test_a_fresh_gap_is_still_waited_for(db: Database) -> None:
    dispatch_once(db)
    with db.transaction() as conn:
        conn.execute(
            update(state)
            .where(state.c.name == POSITION)
            .values(value={"position": 10, "gaps": {"7": time.time()}})
        )
    assert has_new_events(db)
