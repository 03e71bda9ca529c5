"""What happened in the hub since a moment: orders per channel, sync jobs per connection and
state, and the dead letters with their errors. Read-only; the demo's summary is built on it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from channelhub.catalog.store import channels
from channelhub.core.database import Database
from channelhub.orders.store import orders
from channelhub.sync.store import connections, jobs


@dataclass(frozen=True)
class DeadLetter:
    connection: str
    kind: str
    key: str
    attempts: int
    error: str


@dataclass(frozen=True)
class Activity:
    orders: dict[str, int]  # channel -> orders the hub stored since the moment
    jobs: dict[str, dict[str, int]]  # connection -> job state -> jobs touched since the moment
    dead_letters: list[DeadLetter]  # jobs that died since the moment


def activity_since(db: Database, since: datetime) -> Activity:
    """Orders stored, jobs touched and jobs dead-lettered at or after ``since``."""
    with db.read() as conn:
        order_counts = {
            code: int(count)
            for code, count in conn.execute(
                select(channels.c.code, func.count(orders.c.id))
                .join_from(orders, channels, orders.c.channel_id == channels.c.id)
                .where(orders.c.created_at >= since)
                .group_by(channels.c.code)
            )
        }
        by_state: dict[str, dict[str, int]] = defaultdict(dict)
        for code, state, count in conn.execute(
            select(connections.c.code, jobs.c.state, func.count(jobs.c.id))
            .join_from(jobs, connections, jobs.c.connection_id == connections.c.id)
            .where(jobs.c.updated_at >= since)
            .group_by(connections.c.code, jobs.c.state)
        ):
            by_state[code][state] = int(count)
        dead = [
            DeadLetter(row.code, row.kind, row.key, row.attempts, row.last_error or "")
            for row in conn.execute(
                select(
                    connections.c.code, jobs.c.kind, jobs.c.key, jobs.c.attempts, jobs.c.last_error
                )
                .join_from(jobs, connections, jobs.c.connection_id == connections.c.id)
                .where(jobs.c.state == "dead", jobs.c.updated_at >= since)
                .order_by(jobs.c.id)
            )
        ]
    return Activity(order_counts, dict(by_state), dead)
