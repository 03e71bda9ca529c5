"""The worker loop: dispatch outbox events into jobs, claim due jobs, deliver them per
connection in parallel (one key at a time), record outcomes and log, apply the inbox, run
order polls and reconciliations when due.

Wake-up: on PostgreSQL a LISTEN connection hears the outbox trigger's NOTIFY the moment an
event commits (a short poll is the fallback); on SQLite the loop looks at the outbox's newest
id every tick (a cheap indexed read) and ``wake()`` wakes an in-process worker at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection

from channelhub.connectors.base import Capability, DeliveryError
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import ChannelhubError
from channelhub.core.settings import Settings, get_settings
from channelhub.sync import dispatcher, inbox, jobs, queue, reconcile
from channelhub.sync.connections import load_connections
from channelhub.sync.delivery import ConnectionRuntime, Delivery, observe
from channelhub.sync.jobs import ClaimedJob, Outcome
from channelhub.sync.messages import write_messages
from channelhub.sync.model import JobKind, JobState

log = logging.getLogger("channelhub.sync.worker")
CHANNEL = "channelhub_outbox"
_local_wakers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()


def wake() -> None:
    """Wake the workers running in this process (after a commit that wrote events)."""
    for loop, event in list(_local_wakers):
        loop.call_soon_threadsafe(event.set)


class Worker:
    def __init__(
        self,
        db: Database,
        *,
        batch: int = 1000,
        concurrency: int = 4,
        tick: float | None = None,
        settings: Settings | None = None,
        grace: float = 15.0,
    ) -> None:
        self.db = db
        self.grace = grace  # seconds a stopping worker gives the calls in flight
        self.batch = batch
        self.concurrency = concurrency
        self.settings = settings or get_settings()
        self.tick = tick if tick is not None else (0.05 if db.is_sqlite else 0.5)
        self.runtimes: dict[int, ConnectionRuntime] = {}
        self.outcomes: list[tuple[ConnectionRuntime, Sequence[ClaimedJob], list[Outcome]]] = []
        self.wakeup = asyncio.Event()
        self._background: set[asyncio.Task[Any]] = set()
        self.held: set[int] = set()  # ids of the jobs this worker has claimed, not yet recorded
        self._last_maintenance = 0.0
        self._last_reload = 0.0
        self._listener: threading.Thread | None = None
        self._stop_listening = threading.Event()

    # --- lifecycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set; then finish what is in flight and record it."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        waker = (loop, self.wakeup)
        _local_wakers.add(waker)
        self._listen(loop)
        failures = 0
        try:
            while not stop.is_set():
                pause = self.tick
                try:
                    await self.step()
                    failures = 0
                except Exception:  # the loop's guard: a unit's failure is recorded on it;
                    # what reaches here (the database away, a bug) must not end the worker
                    failures += 1
                    pause = min(30.0, self.tick * 2**failures)
                    log.exception("worker step failed; again in %.1f s", pause)
                self.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._sleep(stop), pause)
        finally:
            _local_wakers.discard(waker)
            self._stop_listening.set()
            await self.drain(self.grace)
            await self.close()

    async def _sleep(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(self.wakeup.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def run_until_idle(self, timeout: float = 30.0) -> None:
        """Step until nothing is queued, due or in flight (tests and one-shot runs)."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                await self.step()
                if not self._busy() and await asyncio.to_thread(self._idle):
                    return
                await asyncio.sleep(0.02)
            raise TimeoutError("the sync queue did not empty in time")
        finally:
            await self.drain()

    def _busy(self) -> bool:
        return bool(self.outcomes) or any(r.in_flight for r in self.runtimes.values())

    def _idle(self) -> bool:
        if dispatcher.has_new_events(self.db):
            return False
        with self.db.read() as conn:
            due = jobs.claimable_count(conn)
        return due == 0

    async def drain(self, timeout: float = 15.0) -> None:
        """Finish the work in flight and record it (a graceful stop); what is still running
        after ``timeout`` is cancelled and its jobs released to the other workers at once."""
        tasks = [t for r in self.runtimes.values() for t in r.tasks] + list(self._background)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5)
        try:
            await self._flush()
        finally:
            held = sorted(self.held)
            if held:
                await asyncio.to_thread(self.db.retrying, lambda c: jobs.release(c, held))
                self.held.clear()

    async def close(self) -> None:
        for runtime in self.runtimes.values():
            await runtime.close()
        self.runtimes.clear()

    # --- one step ----------------------------------------------------------------------------

    async def step(self) -> None:
        await self._flush()
        now = time.monotonic()
        if now - self._last_maintenance >= 1.0:
            self._last_maintenance = now
            await self._maintain(now)
        if await asyncio.to_thread(dispatcher.has_new_events, self.db):
            await asyncio.to_thread(dispatcher.dispatch_once, self.db)
        await self._claim_and_deliver()

    async def _maintain(self, now: float) -> None:
        if now - self._last_reload >= 5.0 or not self.runtimes:
            self._last_reload = now
            await self._reload()
        await asyncio.to_thread(self._renew_and_recover)
        await asyncio.to_thread(inbox.apply_inbox, self.db)
        for runtime in list(self.runtimes.values()):
            self._schedule(runtime)

    def _renew_and_recover(self) -> None:
        """Extend the leases of the jobs held here (a job queued behind slow calls must not be
        taken by another claim), then requeue the jobs of workers that stopped."""
        held = sorted(self.held)

        def renew(conn: Connection) -> None:
            jobs.renew_leases(conn, held, self.settings.sync_lease_seconds)
            jobs.recover_expired(conn)

        self.db.retrying(renew)

    async def _reload(self) -> None:
        def load() -> list[Any]:
            with self.db.read() as conn:
                return load_connections(conn)

        records = await asyncio.to_thread(load)
        wanted = {r.id: r for r in records}
        for connection_id, runtime in list(self.runtimes.items()):
            record = wanted.get(connection_id)
            if (record is None or record != runtime.record) and not runtime.in_flight:
                await runtime.close()
                del self.runtimes[connection_id]
        for connection_id, record in wanted.items():
            if connection_id not in self.runtimes:
                self.runtimes[connection_id] = ConnectionRuntime.open(record, self.concurrency)

    def _schedule(self, runtime: ConnectionRuntime) -> None:
        """Start the order poll and the reconciliation of a connection when they are due."""
        record, capabilities = runtime.record, runtime.record.connector_class.capabilities
        if JobKind.ORDERS in record.subscriptions and Capability.PULL_ORDERS in capabilities:
            self._background_task(self._poll(runtime))
        if record.reconcile_seconds:
            self._background_task(self._reconcile(runtime))

    def _background_task(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _poll(self, runtime: ConnectionRuntime) -> None:
        try:
            await inbox.poll_orders(self.db, runtime.record, runtime.connector)
        except (DeliveryError, ChannelhubError) as error:
            runtime.buffer.add(kind="orders", status="poll failed", error=str(error)[:2000])

    async def _reconcile(self, runtime: ConnectionRuntime) -> None:
        if not await asyncio.to_thread(reconcile.claim_reconcile, self.db, runtime.record):
            return
        try:
            report = await reconcile.reconcile(self.db, runtime.record, runtime.connector)
        except (DeliveryError, ChannelhubError) as error:
            runtime.buffer.add(status="reconcile failed", error=str(error)[:2000])
            return
        if report.drift:
            log.warning(
                "reconcile %s: %d of %d differ; %d corrections queued",
                report.connection,
                len(report.drift),
                report.checked,
                report.corrections,
            )

    async def _claim_and_deliver(self) -> None:
        open_ids = [cid for cid, r in self.runtimes.items() if r.in_flight < self.concurrency * 2]
        if not open_ids:
            return

        def take(conn: Connection) -> list[ClaimedJob]:
            return jobs.claim(
                conn, self.batch, self.settings.sync_lease_seconds, connection_ids=open_ids
            )

        claimed = await asyncio.to_thread(self.db.retrying, take)
        self.held.update(j.id for j in claimed)
        groups: dict[tuple[int, JobKind], list[ClaimedJob]] = defaultdict(list)
        for job in claimed:
            groups[(job.connection_id, job.kind)].append(job)
        for (connection_id, kind), group in groups.items():
            runtime = self.runtimes[connection_id]
            size = max(1, runtime.record.connector_class.max_batch)
            if kind == JobKind.FULFILMENTS:
                size = 1
            for start in range(0, len(group), size):
                self._start(runtime, kind, group[start : start + size])

    def _start(self, runtime: ConnectionRuntime, kind: JobKind, batch: list[ClaimedJob]) -> None:
        runtime.in_flight += 1

        async def run() -> None:
            try:
                async with runtime.slots:
                    outcomes = await Delivery(self.db, runtime, self.settings).deliver(kind, batch)
            except Exception as error:  # a bug must not lose the jobs: they retry or go dead
                log.exception("delivery to %s failed unexpectedly", runtime.record.code)
                outcomes = [self._failed(j, error) for j in batch]
            finally:
                runtime.in_flight -= 1
            self.outcomes.append((runtime, batch, outcomes))
            self.wakeup.set()

        task = asyncio.ensure_future(run())
        runtime.tasks.add(task)
        task.add_done_callback(runtime.tasks.discard)

    def _failed(self, job: ClaimedJob, error: BaseException) -> Outcome:
        """The outcome of a job whose delivery raised what the connector did not expect: kept
        with its traceback, retried with backoff, dead after the last attempt."""
        failure = queue.failure_of(error)
        state, delay = queue.next_state(
            jobs.JOBS, job.attempts, failure, self.settings.sync_max_attempts
        )
        if state == jobs.JOBS.dead:
            return Outcome(job.id, JobState.DEAD, failure.error)
        return Outcome(job.id, JobState.FAILED, failure.error, utcnow() + timedelta(seconds=delay))

    async def _flush(self) -> None:
        taken, self.outcomes = self.outcomes, []
        entries = [e for r in self.runtimes.values() for e in r.buffer.take()]
        if not taken and not entries:
            return
        outcomes = [o for _, _, batch in taken for o in batch]

        def write() -> None:
            def both(conn: Connection) -> None:
                jobs.record_outcomes(conn, outcomes)
                write_messages(conn, entries)

            try:
                self.db.retrying(both)
            except Exception:  # a log entry the database refuses must not lose the outcomes
                log.exception("the message log refused %d entries; outcomes kept", len(entries))
                self.db.retrying(lambda conn: jobs.record_outcomes(conn, outcomes))

        await asyncio.to_thread(write)
        for runtime, batch, results in taken:
            self.held.difference_update(j.id for j in batch)
            observe(runtime.record, batch, results)

    # --- PostgreSQL LISTEN -------------------------------------------------------------------

    def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.db.is_sqlite:
            return
        url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

        def listen() -> None:
            import psycopg

            while not self._stop_listening.is_set():
                try:
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute(f"LISTEN {CHANNEL}")
                        while not self._stop_listening.is_set():
                            for _ in conn.notifies(timeout=1.0, stop_after=1):
                                loop.call_soon_threadsafe(self.wakeup.set)
                except Exception as error:  # the poll fallback keeps working meanwhile
                    log.warning("LISTEN %s failed (%s); retrying", CHANNEL, error)
                    self._stop_listening.wait(2.0)

        self._listener = threading.Thread(target=listen, name="outbox-listen", daemon=True)
        self._listener.start()
