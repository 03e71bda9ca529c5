"""Reconciliation: read each channel's stock and prices back (where its API allows), compare
them with the hub, report the drift and queue corrections (forced jobs that read the truth)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update

from channelhub.connectors.base import Capability, Connector
from channelhub.core.database import Database, utcnow
from channelhub.sync import values
from channelhub.sync.connections import ConnectionRecord
from channelhub.sync.jobs import Enqueue, enqueue
from channelhub.sync.model import JobKind
from channelhub.sync.store import connections, jobs

CHUNK = 100


@dataclass(frozen=True)
class Drift:
    kind: str
    sku: str
    hub: str | None
    channel: str | None


@dataclass
class ReconcileReport:
    connection: str
    checked: int = 0
    drift: list[Drift] = field(default_factory=list)
    corrections: int = 0


def _known_skus(db: Database, record: ConnectionRecord, kind: JobKind) -> list[str]:
    """The SKUs this connection has been sent (the ones the channel is expected to hold)."""
    with db.read() as conn:
        return sorted(
            conn.execute(
                select(jobs.c.key)
                .where(jobs.c.connection_id == record.id, jobs.c.kind == kind.value)
                .distinct()
            ).scalars()
        )


async def reconcile(
    db: Database, record: ConnectionRecord, connector: Connector
) -> ReconcileReport:
    """Compare the channel's stock and prices with the hub's; queue a correction per drift."""
    report = ReconcileReport(record.code)
    checks = []
    if JobKind.STOCK in record.subscriptions and Capability.READ_STOCK in connector.capabilities:
        checks.append(JobKind.STOCK)
    if JobKind.PRICES in record.subscriptions and Capability.READ_PRICES in connector.capabilities:
        checks.append(JobKind.PRICES)
    for kind in checks:
        skus = await asyncio.to_thread(_known_skus, db, record, kind)
        for start in range(0, len(skus), CHUNK):
            chunk = skus[start : start + CHUNK]
            hub: dict[str, str] = {}
            seen: dict[str, str] = {}
            if kind == JobKind.STOCK:
                levels = await asyncio.to_thread(values.stock_levels, db, record, chunk)
                hub = {s: str(v.quantity) for s, v in levels.items()}
                seen = {s: str(q) for s, q in (await connector.read_stock(chunk)).items()}
            else:
                prices = await asyncio.to_thread(values.channel_prices, db, record, chunk)
                hub = {s: str(Decimal(v.amount).normalize()) for s, v in prices.items()}
                read = await connector.read_prices(chunk)
                seen = {s: str(Decimal(a).normalize()) for s, a in read.items()}
            report.checked += len(chunk)
            for sku in chunk:
                if sku in hub and hub.get(sku) != seen.get(sku):
                    report.drift.append(Drift(kind.value, sku, hub.get(sku), seen.get(sku)))
    if report.drift:
        corrections = [Enqueue(record.id, JobKind(d.kind), d.sku, None, True) for d in report.drift]

        def queue() -> int:
            with db.transaction() as conn:
                return enqueue(conn, corrections)

        report.corrections = await asyncio.to_thread(queue)
    return report


def claim_reconcile(db: Database, record: ConnectionRecord) -> bool:
    """Whether a scheduled reconciliation of ``record`` is due and now this worker's."""
    if not record.reconcile_seconds:
        return False
    now = utcnow()
    with db.transaction() as conn:
        taken = conn.execute(
            update(connections)
            .where(connections.c.id == record.id, connections.c.next_reconcile_at <= now)
            .values(next_reconcile_at=now + timedelta(seconds=record.reconcile_seconds))
        ).rowcount
    return bool(taken)
