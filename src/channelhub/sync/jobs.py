"""Jobs: enqueue with coalescing, claim with a lease, record outcomes, recover crashed
claims, replay dead letters, and list them.

At most one not-yet-started job exists per (connection, kind, key): ``open_key`` holds
"kind:key" while a job is new or failed, under a unique constraint, so a newer event folds into
it. A claim never takes a job whose key has another job in flight or waiting (order per key).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from channelhub.core.database import utcnow
from channelhub.sync import queue
from channelhub.sync.model import OPEN_STATES, JobKind, JobState
from channelhub.sync.queue import LeaseQueue
from channelhub.sync.store import jobs

S = JobState
_OPEN = [s.value for s in OPEN_STATES]
#: The jobs table as a lease queue (claim and lease renewal are the shared ones).
JOBS = LeaseQueue(jobs, queued=tuple(_OPEN), running=S.PROCESSING.value)


@dataclass(frozen=True)
class Enqueue:
    connection_id: int
    kind: JobKind
    key: str
    event_id: int | None = None
    force: bool = False


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    connection_id: int
    kind: JobKind
    key: str
    attempts: int
    pending: str | None
    pending_since: datetime | None
    force: bool
    created_at: datetime


@dataclass(frozen=True)
class Outcome:
    job_id: int
    state: JobState  # done, waiting, failed, skipped or dead
    error: str | None = None
    not_before: datetime | None = None  # failed: when to try again; waiting: next check
    pending: str | None = None


def _insert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(jobs)


def enqueue(conn: Connection, items: Iterable[Enqueue]) -> int:
    """Add jobs, folding each into the open job of its key when there is one."""
    latest: dict[tuple[int, str], Enqueue] = {}
    for item in items:
        slot = (item.connection_id, f"{item.kind.value}:{item.key}")
        previous = latest.get(slot)
        if previous is not None and previous.force and not item.force:
            item = Enqueue(item.connection_id, item.kind, item.key, item.event_id, True)
        latest[slot] = item
    if not latest:
        return 0
    now = utcnow()
    rows = [
        {
            "connection_id": e.connection_id,
            "kind": e.kind.value,
            "key": e.key[:255],
            "state": S.NEW.value,
            "open_key": open_key[:300],
            "attempts": 0,
            "not_before": now,
            "event_id": e.event_id,
            "force": e.force,
            "created_at": now,
            "updated_at": now,
        }
        for (_, open_key), e in sorted(latest.items(), key=lambda item: item[0])
    ]
    statement = _insert(conn)
    statement = statement.on_conflict_do_update(
        index_elements=[jobs.c.connection_id, jobs.c.open_key],
        set_={
            "event_id": statement.excluded.event_id,
            "updated_at": statement.excluded.updated_at,
            "force": or_(jobs.c.force, statement.excluded.force),
        },
    )
    # executemany, compiled once and sent in pages; rows in key order, so that two workers
    # enqueueing overlapping keys lock them in the same order (no deadlock between them)
    conn.execute(statement, rows)
    return len(rows)


def claim(
    conn: Connection,
    limit: int,
    lease_seconds: float,
    connection_ids: Sequence[int] | None = None,
) -> list[ClaimedJob]:
    """Take up to ``limit`` due jobs whose key has nothing else in flight, under a lease.
    PostgreSQL skips rows other workers hold (any number of workers)."""
    now = utcnow()
    busy = aliased(jobs)
    blocked = exists().where(
        busy.c.connection_id == jobs.c.connection_id,
        busy.c.kind == jobs.c.kind,
        busy.c.key == jobs.c.key,
        busy.c.id != jobs.c.id,
        or_(
            busy.c.state == S.WAITING.value,
            and_(busy.c.state == S.PROCESSING.value, busy.c.lease_until > now),
        ),
    )
    where = [~blocked]
    if connection_ids is not None:
        where.append(jobs.c.connection_id.in_(list(connection_ids)))
    rows = queue.claim(
        conn,
        JOBS,
        limit,
        lease_seconds,
        returning=(
            jobs.c.id,
            jobs.c.connection_id,
            jobs.c.kind,
            jobs.c.key,
            jobs.c.attempts,
            jobs.c.pending,
            jobs.c.pending_since,
            jobs.c.force,
            jobs.c.created_at,
        ),
        where=where,
        take_over=False,  # recover_expired takes them back, keeping a pending check's state
        extra_states=[S.WAITING.value],
        values={
            "open_key": None,
            "updated_at": now,
            # checking a confirmation (waiting) is not another attempt at the delivery
            "attempts": case(
                (jobs.c.state == S.WAITING.value, jobs.c.attempts), else_=jobs.c.attempts + 1
            ),
        },
    )
    return [
        ClaimedJob(
            r.id,
            r.connection_id,
            JobKind(r.kind),
            r.key,
            r.attempts,
            r.pending,
            r.pending_since,
            bool(r.force),
            r.created_at,
        )
        for r in rows
    ]


def next_due(conn: Connection) -> datetime | None:
    """When the earliest job that is not due yet becomes due."""
    found: datetime | None = conn.execute(
        select(func.min(jobs.c.not_before)).where(jobs.c.state.in_([*_OPEN, S.WAITING.value]))
    ).scalar()
    return found


def claimable_count(conn: Connection) -> int:
    """How many jobs are not finished (queued, in flight or waiting)."""
    unfinished = [*_OPEN, S.WAITING.value, S.PROCESSING.value]
    return int(
        conn.execute(
            select(func.count()).select_from(jobs).where(jobs.c.state.in_(unfinished))
        ).scalar_one()
    )


def _reopen(conn: Connection, job_id: int, values: dict[str, Any]) -> None:
    """Put a started job back in the queue as failed; when a newer job of its key is already
    queued, that one carries on (with this one's attempts and backoff) and this one is
    skipped as superseded."""
    row = conn.execute(
        select(jobs.c.connection_id, jobs.c.kind, jobs.c.key, jobs.c.attempts).where(
            jobs.c.id == job_id, jobs.c.state == S.PROCESSING.value
        )
    ).first()
    if row is None:
        return  # no longer this worker's (its lease ran out and it was taken again)
    open_key = f"{row.kind}:{row.key}"[:300]
    for _ in range(5):
        if _fold_into_newer(conn, job_id, row.connection_id, open_key, row.attempts, values):
            return
        try:
            # Another worker may queue this key between the look above and this write: the
            # unique open key then refuses it, and the newer job is folded into instead.
            with conn.begin_nested():
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id)
                    .values(state=S.FAILED.value, open_key=open_key, lease_until=None, **values)
                )
            return
        except IntegrityError:
            continue
    raise RuntimeError(f"job {job_id} could not be requeued: its key {open_key} kept changing")


def _fold_into_newer(
    conn: Connection,
    job_id: int,
    connection_id: int,
    open_key: str,
    attempts: int,
    values: dict[str, Any],
) -> bool:
    """When a newer job of the key is queued, it carries on (with this one's attempts and
    backoff) and this one is skipped as superseded."""
    newer = conn.execute(
        update(jobs)
        .where(
            jobs.c.connection_id == connection_id,
            jobs.c.open_key == open_key,
            jobs.c.id != job_id,
        )
        .values(
            attempts=func.max(jobs.c.attempts, attempts)
            if conn.dialect.name == "sqlite"
            else func.greatest(jobs.c.attempts, attempts),
            not_before=values["not_before"],
            last_error=values.get("last_error"),
        )
        .returning(jobs.c.id)
    ).first()
    if newer is None:
        return False
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(
            state=S.SKIPPED.value,
            lease_until=None,
            finished_at=values["updated_at"],
            updated_at=values["updated_at"],
            last_error=f"superseded by job {newer.id}: {values.get('last_error') or ''}",
        )
    )
    return True


#: How a stock or price job skipped for want of a listing begins its reason (see delivery);
#: when the key's listing is delivered later, those jobs are queued again.
UNLISTED = "not sent, no listing:"


def record_outcomes(conn: Connection, outcomes: Sequence[Outcome]) -> None:
    """Write what became of delivered jobs (one statement per outcome kind where possible)."""
    now = utcnow()
    outcomes = sorted(outcomes, key=lambda o: o.job_id)  # rows locked in one order
    done = [o.job_id for o in outcomes if o.state == S.DONE]
    if done:
        _follow_listings(conn, done)
        conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(done), jobs.c.state == S.PROCESSING.value)
            .values(
                state=S.DONE.value,
                lease_until=None,
                pending=None,
                last_error=None,
                finished_at=now,
                updated_at=now,
            )
        )
    for outcome in outcomes:
        if outcome.state == S.DONE:
            continue
        if outcome.state == S.FAILED:
            _reopen(
                conn,
                outcome.job_id,
                {
                    "not_before": outcome.not_before or now,
                    "last_error": outcome.error,
                    "updated_at": now,
                },
            )
            continue
        values: dict[str, Any] = {
            "state": outcome.state.value,
            "lease_until": None,
            "updated_at": now,
            "last_error": outcome.error,
        }
        if outcome.state == S.WAITING:
            values.update(
                pending=outcome.pending,
                pending_since=func.coalesce(jobs.c.pending_since, now),
                not_before=outcome.not_before or now,
            )
        else:
            values["finished_at"] = now
        conn.execute(
            update(jobs)
            .where(jobs.c.id == outcome.job_id, jobs.c.state == S.PROCESSING.value)
            .values(**values)
        )


def _follow_listings(conn: Connection, done: Sequence[int]) -> None:
    """Listings delivered now whose stock or price was skipped while they were dead: queue
    those again, so a fixed and replayed listing brings its stock and price along."""
    j = jobs.c
    listed: dict[int, set[str]] = {}
    for connection_id, key in conn.execute(
        select(j.connection_id, j.key).where(j.id.in_(list(done)), j.kind == JobKind.LISTINGS.value)
    ):
        listed.setdefault(int(connection_id), set()).add(key)
    again: list[Enqueue] = []
    for connection_id, keys in listed.items():
        newest = newest_jobs(conn, connection_id, (JobKind.STOCK, JobKind.PRICES), sorted(keys))
        again += [
            Enqueue(connection_id, kind, key)
            for (kind, key), (state, error) in sorted(newest.items())
            if state == S.SKIPPED.value and (error or "").startswith(UNLISTED)
        ]
    enqueue(conn, again)


def newest_jobs(
    conn: Connection, connection_id: int, kinds: Sequence[JobKind], keys: Sequence[str]
) -> dict[tuple[JobKind, str], tuple[str, str | None]]:
    """(kind, key) -> (state, last error) of the newest job of each, for these keys."""
    j = jobs.c
    newest: dict[tuple[JobKind, str], tuple[str, str | None]] = {}
    for start in range(0, len(keys), 500):
        for kind, key, state, error in conn.execute(
            select(j.kind, j.key, j.state, j.last_error)
            .where(
                j.connection_id == connection_id,
                j.kind.in_([k.value for k in kinds]),
                j.key.in_(list(keys[start : start + 500])),
            )
            .order_by(j.id)
        ):
            newest[JobKind(kind), key] = (state, error)
    return newest


def renew_leases(conn: Connection, job_ids: Sequence[int], lease_seconds: float) -> None:
    """Extend the lease of jobs a live worker still holds."""
    queue.renew(conn, JOBS, job_ids, lease_seconds)


def release(conn: Connection, job_ids: Sequence[int]) -> None:
    """Give up the lease of jobs a stopping worker will not finish: any worker's next
    recovery takes them back at once instead of after the lease."""
    if job_ids:
        conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(sorted(job_ids)), jobs.c.state == S.PROCESSING.value)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )


def recover_expired(conn: Connection) -> int:
    """Jobs whose worker died mid-delivery (lease run out) go back to the queue; those that
    were only checking a confirmation go back to waiting."""
    now = utcnow()
    query = select(jobs.c.id, jobs.c.pending).where(
        jobs.c.state == S.PROCESSING.value, jobs.c.lease_until < now
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = conn.execute(query.order_by(jobs.c.id).limit(1000)).all()
    for row in rows:
        if row.pending:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == row.id)
                .values(state=S.WAITING.value, lease_until=None, updated_at=now)
            )
        else:
            _reopen(
                conn,
                row.id,
                {
                    "not_before": now,
                    "last_error": "the worker holding it stopped",
                    "updated_at": now,
                },
            )
    return len(rows)
