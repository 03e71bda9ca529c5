"""One connection's delivery side: its HTTP client (with the message log hook), its
connector, its rate limit, and the delivery of a batch of claimed jobs to its platform."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from channelhub.connectors.base import (
    Accepted,
    Cancellation,
    Connector,
    DeliveryError,
    Fulfilment,
    PartialFailure,
    PermanentError,
    RateLimited,
)
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import ChannelhubError
from channelhub.core.settings import Settings
from channelhub.sync.connections import ConnectionRecord
from channelhub.sync.jobs import UNLISTED, ClaimedJob, Outcome
from channelhub.sync.messages import CallContext, MessageBuffer, attach, current_call
from channelhub.sync.metrics import CALL_SECONDS, DELIVERY_SECONDS, OUTCOMES
from channelhub.sync.model import JobKind, JobState, backoff_seconds
from channelhub.sync.values import NotSent, current_values, dead_listings

PENDING_CHECK_SECONDS = 2.0


@dataclass
class RateBucket:
    """The client-side token bucket of one connection, slowed by the platform's 429s."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0
    paused_until: float = 0.0

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            if self.paused_until > now:
                await asyncio.sleep(self.paused_until - now)
                continue
            if self.tokens < 0:
                self.tokens, self.stamp = self.burst, now
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)


@dataclass
class ConnectionRuntime:
    record: ConnectionRecord
    client: httpx.AsyncClient
    connector: Connector
    bucket: RateBucket
    slots: asyncio.Semaphore
    buffer: MessageBuffer
    in_flight: int = 0
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    def open(cls, record: ConnectionRecord, concurrency: int) -> ConnectionRuntime:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0),
            limits=httpx.Limits(max_connections=concurrency * 2),
            headers={"User-Agent": "channelhub-sync"},
        )
        buffer = MessageBuffer(record.id, record.secret_values)
        attach(client, buffer)
        connector = record.connector(client)
        limit = record.connector_class.rate_limit
        return cls(
            record,
            client,
            connector,
            RateBucket(limit.rate, max(1.0, float(limit.burst))),
            asyncio.Semaphore(concurrency),
            buffer,
        )

    async def close(self) -> None:
        await self.client.aclose()


def _unlisted(connection: str, key: str, why: str) -> str:
    """Why a SKU's stock or price is not sent: its listing on the platform gave up. Once the
    listing is delivered, the job is queued again (``jobs.UNLISTED``)."""
    return (
        f"{UNLISTED} {key} has no listing on {connection}; its listing gave up ({why[:200]}). "
        "Fix that and replay the listing: the stock and price follow it"
    )


async def _call(connector: Connector, kind: JobKind, items: Sequence[Any]) -> Accepted:
    if kind == JobKind.STOCK:
        return await connector.push_stock(items)
    if kind == JobKind.PRICES:
        return await connector.push_prices(items)
    if kind == JobKind.LISTINGS:
        return await connector.push_listings(items)
    if kind == JobKind.FULFILMENTS:
        (item,) = items
        if isinstance(item, Fulfilment):
            return await connector.push_fulfilment(item)
        if isinstance(item, Cancellation):
            return await connector.push_cancellation(item)
    raise PermanentError(f"nothing delivers {kind.value} jobs")


class Delivery:
    """Delivers claimed jobs of one connection and turns what happened into outcomes."""

    def __init__(self, db: Database, runtime: ConnectionRuntime, settings: Settings) -> None:
        self.db = db
        self.runtime = runtime
        self.settings = settings

    def _retry(self, job: ClaimedJob, error: DeliveryError | Exception) -> Outcome:
        message = f"{type(error).__name__}: {error}"[:2000]
        retryable = getattr(error, "retryable", True)
        if not retryable or job.attempts >= self.settings.sync_max_attempts:
            return Outcome(job.id, JobState.DEAD, message)
        delay = backoff_seconds(
            job.attempts,
            self.settings.sync_backoff_base,
            self.settings.sync_backoff_cap,
            getattr(error, "retry_after", None),
        )
        return Outcome(job.id, JobState.FAILED, message, utcnow() + timedelta(seconds=delay))

    def _accepted(self, job: ClaimedJob, accepted: Accepted) -> Outcome:
        if accepted.pending:
            due = utcnow() + timedelta(seconds=PENDING_CHECK_SECONDS)
            return Outcome(job.id, JobState.WAITING, None, due, accepted.pending)
        return Outcome(job.id, JobState.DONE)

    async def deliver(self, kind: JobKind, batch: Sequence[ClaimedJob]) -> list[Outcome]:
        """Send the current value of every job's key; jobs without a value are skipped."""
        checks = [j for j in batch if j.pending]
        fresh = [j for j in batch if not j.pending]
        outcomes = [await self._check(j) for j in checks]
        if fresh:
            outcomes += await self._deliver_fresh(kind, fresh)
        return outcomes

    async def _deliver_fresh(self, kind: JobKind, batch: Sequence[ClaimedJob]) -> list[Outcome]:
        record = self.runtime.record
        keys = [j.key for j in batch]
        try:
            found = await asyncio.to_thread(current_values, self.db, record, kind, keys)
        except ChannelhubError as error:
            return [
                Outcome(j.id, JobState.DEAD, f"cannot read the hub's value: {error.detail}")
                for j in batch
            ]
        outcomes = [
            Outcome(j.id, JobState.SKIPPED, f"no {kind.value} to send for {j.key}")
            for j in batch
            if j.key not in found
        ] + [
            Outcome(j.id, JobState.SKIPPED, found[j.key].reason)
            for j in batch
            if isinstance(found.get(j.key), NotSent)
        ]
        sendable = [j for j in batch if j.key in found and not isinstance(found[j.key], NotSent)]
        if kind in (JobKind.STOCK, JobKind.PRICES) and sendable:
            unlisted = await asyncio.to_thread(
                dead_listings, self.db, record.id, [j.key for j in sendable]
            )
            outcomes += [
                Outcome(j.id, JobState.SKIPPED, _unlisted(record.code, j.key, unlisted[j.key]))
                for j in sendable
                if j.key in unlisted
            ]
            sendable = [j for j in sendable if j.key not in unlisted]
        size = 1 if kind == JobKind.FULFILMENTS else max(1, record.connector_class.max_batch)
        for start in range(0, len(sendable), size):
            chunk = sendable[start : start + size]
            outcomes += await self._send(kind, chunk, [found[j.key] for j in chunk])
        return outcomes

    async def _send(
        self, kind: JobKind, batch: Sequence[ClaimedJob], items: Sequence[Any]
    ) -> list[Outcome]:
        runtime = self.runtime
        await runtime.bucket.acquire()
        context = CallContext(
            kind.value, tuple(j.key for j in batch), max(j.attempts for j in batch)
        )
        token = current_call.set(context)
        started = time.perf_counter()
        labels = (runtime.record.code, kind.value)
        try:
            accepted = await _call(runtime.connector, kind, items)
            if self.settings.sync_deliver_twice:  # the first answer "lost": sent again
                accepted = await _call(runtime.connector, kind, items)
        except PartialFailure as error:
            runtime.buffer.add(status="partly failed", error=runtime.buffer.redact(str(error)))
            return [
                self._retry(j, error.failures[j.key])
                if j.key in error.failures
                else self._accepted(j, error.accepted)
                for j in batch
            ]
        except RateLimited as error:
            runtime.bucket.pause(error.retry_after or 1.0)
            runtime.buffer.add(status="rate limited", error=runtime.buffer.redact(str(error)))
            return [self._retry(j, error) for j in batch]
        except PermanentError as error:
            if len(batch) > 1:  # find the item the platform refuses: send each alone
                current_call.reset(token)
                token = current_call.set(None)
                outcomes: list[Outcome] = []
                for job, item in zip(batch, items, strict=True):
                    outcomes += await self._send(kind, [job], [item])
                return outcomes
            runtime.buffer.add(status="refused", error=runtime.buffer.redact(str(error)))
            return [self._retry(j, error) for j in batch]
        except DeliveryError as error:
            runtime.buffer.add(status="failed", error=runtime.buffer.redact(str(error)))
            return [self._retry(j, error) for j in batch]
        except httpx.HTTPError as error:
            runtime.buffer.failed_call(f"{type(error).__name__}: {error}")
            return [self._retry(j, error) for j in batch]
        finally:
            CALL_SECONDS.labels(*labels).observe(time.perf_counter() - started)
            current_call.reset(token)
        return [self._accepted(j, accepted) for j in batch]

    async def _check(self, job: ClaimedJob) -> Outcome:
        """Follow a job's asynchronous confirmation one step."""
        runtime = self.runtime
        assert job.pending is not None
        await runtime.bucket.acquire()
        token = current_call.set(CallContext(job.kind.value, (job.key,), job.attempts))
        try:
            accepted = await runtime.connector.check_pending(job.pending)
        except PermanentError as error:
            return Outcome(job.id, JobState.DEAD, f"the platform reports failure: {error}")
        except (DeliveryError, httpx.HTTPError) as error:
            if isinstance(error, RateLimited):
                runtime.bucket.pause(error.retry_after or 1.0)
            due = utcnow() + timedelta(seconds=PENDING_CHECK_SECONDS * 2)
            return Outcome(job.id, JobState.WAITING, str(error)[:2000], due, job.pending)
        finally:
            current_call.reset(token)
        if accepted.pending is None:
            return Outcome(job.id, JobState.DONE)
        since = job.pending_since or utcnow()
        if (utcnow() - since).total_seconds() > self.settings.sync_pending_timeout:
            return Outcome(job.id, JobState.DEAD, "the platform's confirmation timed out")
        due = utcnow() + timedelta(seconds=PENDING_CHECK_SECONDS)
        return Outcome(job.id, JobState.WAITING, None, due, accepted.pending)


def observe(
    record: ConnectionRecord, jobs: Sequence[ClaimedJob], outcomes: Sequence[Outcome]
) -> None:
    """Count outcomes and, for finished deliveries, the time since each job was created."""
    by_id = {j.id: j for j in jobs}
    now = utcnow()
    for outcome in outcomes:
        job = by_id.get(outcome.job_id)
        kind = job.kind.value if job else ""
        OUTCOMES.labels(record.code, kind, outcome.state.value).inc()
        if job is not None and outcome.state == JobState.DONE:
            DELIVERY_SECONDS.labels(record.code, kind).observe(
                (now - job.created_at).total_seconds()
            )
