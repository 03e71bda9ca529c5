"""The automation loop: run rules and queue webhooks from new hub events, deliver due
webhooks and forwarded orders, and pick up files waiting in files connections' inboxes.
Any number of these loops may run (PostgreSQL): events are read under a row lock, deliveries
are claimed with SKIP LOCKED, and every effect is idempotent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from channelhub.automation import file_inbox, service, webhooks
from channelhub.core.database import Database
from channelhub.core.errors import ChannelhubError

log = logging.getLogger("channelhub.automation.worker")


@dataclass
class StepReport:
    events: int = 0
    deliveries: int = 0
    files: int = 0


async def step(db: Database, files: bool = True) -> StepReport:
    """One pass of the loop."""
    report = StepReport()
    report.events = await asyncio.to_thread(service.handle_events, db)
    report.deliveries = await webhooks.deliver_due(db)
    if files:
        try:
            report.files = len(await file_inbox.process_all(db))
        except ChannelhubError as error:  # a connection that cannot be reached now
            log.warning("file pickup failed: %s", error.detail)
    return report


async def run_until_idle(db: Database, timeout: float = 30.0, files: bool = True) -> StepReport:
    """Step until a pass finds nothing to do (tests, one-shot runs, cron)."""
    total = StepReport()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        report = await step(db, files)
        total.events += report.events
        total.deliveries += report.deliveries
        total.files += report.files
        if not (report.events or report.deliveries or report.files):
            return total
    raise TimeoutError("automation work did not settle in time")


async def run(
    db: Database, stop: asyncio.Event, tick: float = 1.0, files_every: float = 10.0
) -> None:
    """Run until ``stop`` is set: events and deliveries every ``tick``, files less often."""
    loop = asyncio.get_running_loop()
    last_files = 0.0
    while not stop.is_set():
        due = loop.time() - last_files >= files_every
        try:
            await step(db, files=due)
        except Exception:  # keep the loop alive; every unit of work is retried
            log.exception("automation step failed")
        if due:
            last_files = loop.time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick)
