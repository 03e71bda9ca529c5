"""The hub's periodic work beside the sync engine, run by ``channelhub worker``.

Each task reads its own position (an outbox cursor, a watermark) from the database, so any
number of workers may run them and a crash loses nothing: the next run picks up where the
last one committed. A task that fails is logged and tried again at its next turn.

- customers, every second: link new orders to customer profiles (identity resolution), then
  book loyalty points, purchase history and recommendations from order events;
- automation, every second: workflow rules and outbound event webhooks (inbound files every
  10 s);
- holds, every 30 s: release cart holds whose time is up;
- analytics, every minute: bring the sales rollups up to date;
- insight, every 30 s: recompute the cross-channel reports of the dashboard's periods whose
  snapshot has outlived its lifetime (30 s to 30 min, by what computing it costs);
- segments: recompute the RFM, channel-mix and favourite-category segments, again after 120
  times what the last run took, at least a minute and at most an hour apart (a small shop's
  new customers are scored within a minute; a large one spends under 1% of a core on it).
- feeds, every minute: publish each feed that changed (``channelhub.feeds.scheduling``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from channelhub.core.database import Database
from channelhub.core.pacing import paced
from channelhub.feeds.scheduling import publish_due

log = logging.getLogger(__name__)


#: A task with ``most`` waits this many times its last run's duration before the next.
COST_FACTOR = 120


@dataclass(frozen=True)
class Task:
    name: str
    every: float  # seconds between runs; the least when ``most`` is set
    run: Callable[[Database], Any]
    most: float | None = None  # set: the wait grows with the run's cost up to this

    def wait_after(self, seconds: float) -> float:
        """The pause after a run that took ``seconds``."""
        if self.most is None:
            return self.every
        return paced(seconds, self.every, self.most, COST_FACTOR)


def _customers(db: Database) -> int:
    from channelhub.customers.journeys.feed import process_order_events
    from channelhub.customers.order_hook import link_orders

    linked = link_orders(db)
    return linked + process_order_events(db)


def _automation(db: Database) -> Any:
    from channelhub.automation.worker import step

    return asyncio.run(step(db, files=True))


def _holds(db: Database) -> int:
    from channelhub.inventory.reserving import release_expired

    return release_expired(db)


def _analytics(db: Database) -> Any:
    from channelhub.insight.rollup import refresh

    return refresh(db)


def _insight(db: Database) -> int:
    from channelhub.insight.crosschannel import refresh_windows

    return refresh_windows(db)


def _segments(db: Database) -> int:
    from channelhub.customers.journeys.segments import compute_segments

    return compute_segments(db)


TASKS = (
    Task("customers", 1.0, _customers),
    Task("automation", 1.0, _automation),
    Task("holds", 30.0, _holds),
    Task("analytics", 60.0, _analytics),
    Task("insight", 30.0, _insight),
    Task("segments", 60.0, _segments, most=3600.0),
    Task("feeds", 60.0, publish_due),
)


async def run_background(
    db: Database, stop: asyncio.Event, tasks: tuple[Task, ...] = TASKS
) -> None:
    """Run every task at its interval until ``stop`` is set (each in a thread of its own, so
    a slow one never delays the others)."""
    await asyncio.gather(*(_loop(db, task, stop) for task in tasks))


async def _loop(db: Database, task: Task, stop: asyncio.Event) -> None:
    failing = False
    while not stop.is_set():
        started = time.monotonic()
        try:
            await asyncio.to_thread(task.run, db)
            if failing:
                failing = False
                await asyncio.to_thread(_note, db, task.name, None)
        except Exception as error:  # keep the loop alive: every task resumes from its position
            failing = True
            log.exception(
                "background task %s failed; it runs again in %.0f s", task.name, task.every
            )
            await asyncio.to_thread(_note, db, task.name, error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), task.wait_after(time.monotonic() - started))


def _note(db: Database, name: str, error: BaseException | None) -> None:
    """Keep a task's last failure (with its traceback) where the sync state lives, or clear
    it once the task runs again; never raises (the database may be what failed)."""
    from sqlalchemy import delete
    from sqlalchemy.dialects import postgresql, sqlite

    from channelhub.core.database import utcnow
    from channelhub.sync.queue import describe
    from channelhub.sync.store import state

    key = f"background.{name}"
    try:
        with db.transaction() as conn:
            conn.execute(delete(state).where(state.c.name == key))
            if error is not None:
                insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
                value = {"failed_at": utcnow().isoformat(), "error": describe(error)}
                conn.execute(insert(state).values(name=key, value=value))
    except Exception:
        log.warning("could not record the failure of background task %s", name, exc_info=True)


def last_failures(db: Database) -> dict[str, dict[str, Any]]:
    """Task name -> its last failure (``failed_at``, ``error``) for tasks failing now."""
    from sqlalchemy import select

    from channelhub.sync.store import state

    with db.read() as conn:
        rows = conn.execute(
            select(state.c.name, state.c.value).where(state.c.name.like("background.%"))
        ).all()
    return {name.removeprefix("background."): dict(value) for name, value in rows}


def run_once(db: Database, tasks: tuple[Task, ...] = TASKS) -> dict[str, Any]:
    """Every task once, in order (tests, and ``channelhub worker --once``)."""
    return {task.name: task.run(db) for task in tasks}
