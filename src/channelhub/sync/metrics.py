"""Prometheus metrics: queue depth and oldest job age per connection (read from the database
at scrape time, so any process shows them), and the delivery latency histogram and outcome
counter of the worker that runs in this process."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from channelhub.core.database import Database, utcnow
from channelhub.sync.model import JobState
from channelhub.sync.store import connections, jobs

DELIVERY_SECONDS = Histogram(
    "channelhub_sync_delivery_seconds",
    "Time from a job's creation to its delivery being confirmed",
    ["connection", "kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
CALL_SECONDS = Histogram(
    "channelhub_sync_call_seconds",
    "Latency of one call to a channel's API",
    ["connection", "kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTCOMES = Counter(
    "channelhub_sync_outcomes",
    "What became of delivery attempts",
    ["connection", "kind", "outcome"],
)

_QUEUED = [
    JobState.NEW.value,
    JobState.FAILED.value,
    JobState.PROCESSING.value,
    JobState.WAITING.value,
]


class QueueCollector(Collector):
    """Queue depth, oldest queued job's age and dead letters per connection."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "channelhub_sync_queue_depth", "Jobs not finished", labels=["connection", "state"]
        )
        oldest = GaugeMetricFamily(
            "channelhub_sync_oldest_job_age_seconds",
            "Age of the oldest unfinished job",
            labels=["connection"],
        )
        dead = GaugeMetricFamily(
            "channelhub_sync_dead_jobs", "Dead letters awaiting replay", labels=["connection"]
        )
        now = utcnow()
        with self.db.read() as conn:
            rows = conn.execute(
                select(connections.c.code, jobs.c.state, func.count(), func.min(jobs.c.created_at))
                .join_from(jobs, connections, jobs.c.connection_id == connections.c.id)
                .where(jobs.c.state.in_([*_QUEUED, JobState.DEAD.value]))
                .group_by(connections.c.code, jobs.c.state)
            ).all()
            codes = list(conn.execute(select(connections.c.code)).scalars())
        ages: dict[str, float] = dict.fromkeys(codes, 0.0)
        dead_counts: dict[str, int] = dict.fromkeys(codes, 0)
        for code, state, count, first in rows:
            if state == JobState.DEAD.value:
                dead_counts[code] = count
                continue
            depth.add_metric([code, state], count)
            if first is not None:
                first_utc = first if first.tzinfo else first.replace(tzinfo=now.tzinfo)
                ages[code] = max(ages.get(code, 0.0), (now - first_utc).total_seconds())
        for code, age in ages.items():
            oldest.add_metric([code], age)
        for code, count in dead_counts.items():
            dead.add_metric([code], count)
        yield depth
        yield oldest
        yield dead


def exposition(db: Database) -> bytes:
    """The text exposition of this process's metrics plus the queue gauges of ``db``."""
    queue = CollectorRegistry()
    queue.register(QueueCollector(db))
    return generate_latest(REGISTRY) + generate_latest(queue)
