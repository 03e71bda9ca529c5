"""The sync monitor's queries: jobs listed with filters, and dead letters replayed (one, a
filter, or all). A replayed job is a new job of its key: it reads the current value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput, NotFound
from channelhub.sync.jobs import Enqueue, enqueue
from channelhub.sync.model import JobKind, JobState
from channelhub.sync.store import connections, jobs

S = JobState


@dataclass(frozen=True)
class JobView:
    id: int
    connection: str
    kind: str
    key: str
    state: str
    attempts: int
    not_before: datetime
    pending: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class JobFilter:
    connection: str | None = None
    state: JobState | None = None
    kind: JobKind | None = None
    key: str | None = None


def _filtered(query: Any, filters: JobFilter) -> Any:
    if filters.connection is not None:
        query = query.where(connections.c.code == filters.connection)
    if filters.state is not None:
        query = query.where(jobs.c.state == filters.state.value)
    if filters.kind is not None:
        query = query.where(jobs.c.kind == filters.kind.value)
    if filters.key is not None:
        query = query.where(jobs.c.key == filters.key)
    return query


def list_jobs(
    db: Database, filters: JobFilter, before: int | None = None, limit: int = 100
) -> list[JobView]:
    """Jobs, newest first, optionally older than job ``before``."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit is between 1 and 1000")
    query = select(jobs, connections.c.code).join_from(
        jobs, connections, jobs.c.connection_id == connections.c.id
    )
    query = _filtered(query, filters)
    if before is not None:
        query = query.where(jobs.c.id < before)
    with db.read() as conn:
        return [
            JobView(
                r.id,
                r.code,
                r.kind,
                r.key,
                r.state,
                r.attempts,
                r.not_before,
                r.pending,
                r.last_error,
                r.created_at,
                r.updated_at,
                r.finished_at,
            )
            for r in conn.execute(query.order_by(jobs.c.id.desc()).limit(limit))
        ]


def replay(db: Database, job_id: int | None = None, filters: JobFilter | None = None) -> int:
    """Send dead jobs again: one by id, or every dead job matching ``filters`` (all without
    filters). A replayed job reads the current value, like any other."""
    if job_id is None and filters is None:
        raise InvalidInput("name a job or a filter")
    query = select(jobs.c.id, jobs.c.connection_id, jobs.c.kind, jobs.c.key).join_from(
        jobs, connections, jobs.c.connection_id == connections.c.id
    )
    query = query.where(jobs.c.state == S.DEAD.value)
    if job_id is not None:
        query = query.where(jobs.c.id == job_id)
    if filters is not None:
        query = _filtered(query, JobFilter(filters.connection, None, filters.kind, filters.key))
    with db.transaction() as conn:
        rows = conn.execute(query.order_by(jobs.c.id)).all()
        if job_id is not None and not rows:
            raise NotFound(f"job {job_id} is not a dead letter")
        now = utcnow()
        for row in rows:
            enqueue(conn, [Enqueue(row.connection_id, JobKind(row.kind), row.key, None, True)])
            conn.execute(
                update(jobs)
                .where(jobs.c.id == row.id)
                .values(
                    state=S.SKIPPED.value,
                    updated_at=now,
                    last_error="replayed: a new job carries it",
                )
            )
    return len(rows)
