"""One lease queue for the hub's units of work: sync jobs, inbox messages and outbound
webhook deliveries share its claim, lease, retry and dead-letter.

A row is claimable when it is queued and due, or when the worker that claimed it stopped
(its lease ran out): claiming sets the running state and a lease, counts the attempt and, on
PostgreSQL, skips rows another worker is claiming (``FOR UPDATE SKIP LOCKED``), so any number
of workers share a queue. Whatever happens to a unit while it runs ends in ``settle`` (done)
or ``fail`` (again after a backoff, or dead after the last attempt), with the error and its
traceback kept on the row. ``failure_of`` turns any exception into such a failure, so that
no data can end the loop that runs them.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, or_, select, true, update
from sqlalchemy.engine import Connection, Row

from channelhub.core.database import utcnow
from channelhub.sync.model import backoff_seconds

#: How much of an error and its traceback a row keeps (the end, where the cause is).
ERROR_CHARS = 8000


@dataclass(frozen=True)
class LeaseQueue:
    """Which table and states make up a queue.

    ``due`` is the column holding when a queued row may run next; a queue without one (the
    inbox) keeps a failed row's next try in ``lease_until``.
    """

    table: Table
    queued: tuple[str, ...]  # states a row waits in: new, failed
    running: str  # the claimed state: processing, sending
    retry: str = "failed"
    dead: str = "dead"
    due: str | None = "not_before"

    def _col(self, name: str) -> Any:
        return self.table.c[name]

    def claimable(self, now: datetime, take_over: bool = True) -> ColumnElement[bool]:
        """Queued and due, or (``take_over``) claimed by a worker whose lease ran out."""
        state, lease = self._col("state"), self._col("lease_until")
        if self.due is not None:
            waiting = and_(state.in_(self.queued), self._col(self.due) <= now)
        else:
            retry_due = or_(lease.is_(None), lease <= now)
            waiting = or_(
                and_(state.in_([s for s in self.queued if s != self.retry])),
                and_(state == self.retry, retry_due),
            )
        if not take_over:
            return waiting
        return or_(waiting, and_(state == self.running, lease < now))


def claim(
    conn: Connection,
    queue: LeaseQueue,
    limit: int,
    lease_seconds: float,
    returning: Sequence[Any],
    *,
    where: Sequence[ColumnElement[bool]] = (),
    take_over: bool = True,
    extra_states: Sequence[str] = (),
    values: dict[str, Any] | None = None,
) -> list[Row[Any]]:
    """Take up to ``limit`` claimable rows (oldest first) under a lease of ``lease_seconds``;
    ``where`` narrows them, ``values`` adds to (or overrides) what claiming writes."""
    now = utcnow()
    t = queue.table
    eligible = queue.claimable(now, take_over)
    if extra_states:
        eligible = or_(
            eligible,
            and_(
                t.c.state.in_(list(extra_states)),
                t.c[queue.due] <= now if queue.due else true(),
            ),
        )
    due = select(t.c.id).where(eligible, *where).order_by(t.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    written: dict[str, Any] = {
        "state": queue.running,
        "lease_until": now + timedelta(seconds=lease_seconds),
        "attempts": t.c.attempts + 1,
    }
    written.update(values or {})
    rows = conn.execute(
        update(t).where(t.c.id.in_(due.scalar_subquery())).values(**written).returning(*returning)
    ).all()
    return sorted(rows, key=lambda r: int(r.id))


def renew(conn: Connection, queue: LeaseQueue, ids: Sequence[int], lease_seconds: float) -> None:
    """Extend the lease of rows a live worker still holds."""
    if ids:
        t = queue.table
        conn.execute(
            update(t)
            .where(t.c.id.in_(sorted(ids)), t.c.state == queue.running)
            .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
        )


def settle(conn: Connection, queue: LeaseQueue, unit_id: int, **values: Any) -> bool:
    """Record a claimed unit as done (``values`` add what the queue keeps, e.g. the time);
    False when it is no longer this worker's (its lease ran out and it was taken again)."""
    t = queue.table
    done = conn.execute(
        update(t)
        .where(t.c.id == unit_id, t.c.state == queue.running)
        .values(state="done", lease_until=None, last_error=None, **values)
    )
    return bool(done.rowcount)


@dataclass(frozen=True)
class Failure:
    """What went wrong with a unit: the text kept on its row, and whether trying again can
    help (a refused request will be refused again)."""

    error: str
    retryable: bool = True


def failure_of(error: BaseException) -> Failure:
    """Any exception as a unit's failure: retryable unless it says otherwise (a connector's
    PermanentError carries ``retryable = False``)."""
    return Failure(describe(error), bool(getattr(error, "retryable", True)))


def describe(error: BaseException) -> str:
    """The error and its traceback, as kept on the unit's row."""
    text = "".join(traceback.format_exception(error))
    summary = f"{type(error).__name__}: {error}"
    if len(text) > ERROR_CHARS:
        text = text[-ERROR_CHARS:]
    return storable(f"{summary[:1000]}\n{text}")


def storable(text: str) -> str:
    """``text`` as both databases store it: the data that failed may hold a lone surrogate
    or a NUL, which would make recording the failure fail too."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def next_state(
    queue: LeaseQueue, attempts: int, failure: Failure, max_attempts: int
) -> tuple[str, float]:
    """(state, seconds until the next try) after a failed attempt: the retry state with
    exponential backoff, or dead after ``max_attempts`` or when retrying cannot help."""
    from channelhub.core.settings import get_settings

    settings = get_settings()
    if not failure.retryable or attempts >= max_attempts:
        return queue.dead, 0.0
    return queue.retry, backoff_seconds(
        attempts, settings.sync_backoff_base, settings.sync_backoff_cap
    )


def fail(
    conn: Connection,
    queue: LeaseQueue,
    unit_id: int,
    attempts: int,
    failure: Failure,
    max_attempts: int,
    **values: Any,
) -> str:
    """Record a failed attempt on a claimed unit: retried after a backoff, or dead-lettered.
    The state written (unchanged when the unit is no longer this worker's)."""
    state, delay = next_state(queue, attempts, failure, max_attempts)
    t = queue.table
    when = utcnow() + timedelta(seconds=delay)
    written: dict[str, Any] = {"state": state, "last_error": failure.error[: ERROR_CHARS + 1100]}
    if queue.due is not None:
        written.update(lease_until=None)
        written[queue.due] = when
    else:
        written["lease_until"] = when if state == queue.retry else None
    written.update(values)
    conn.execute(update(t).where(t.c.id == unit_id, t.c.state == queue.running).values(**written))
    return state
