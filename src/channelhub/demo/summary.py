"""What a timed demo run (``channelhub demo --for SECONDS``) did, as one JSON-ready dict: orders
per channel, deliveries, dead letters, worker restarts, audit findings per check, and the
problems the sample retailer carries on purpose kept apart from everything else.

Anything that is not a planted problem is *unplanned*: a dead letter, an audit finding no
planted problem explains, an order placed on a channel that never reached the hub, an error
logged, a worker restart, a traffic failure, a thread left running. ``channelhub demo --for``
exits non-zero when there is any.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from channelhub.core.database import Database
from channelhub.insight.activity import activity_since
from channelhub.insight.audit import Finding, run_audit

if TYPE_CHECKING:
    from channelhub.demo.runner import DemoReport


@dataclass(frozen=True)
class PlantedProblem:
    """A flaw the sample data has on purpose, so that the audit and the sync monitor have
    something true to show; ``explains`` says which findings and dead letters are its own."""

    name: str
    description: str
    checks: frozenset[str]  # audit checks where it shows
    items: frozenset[str]  # the SKUs (or items) it concerns
    channels: frozenset[str] = frozenset()  # empty: any channel
    dead_letter_kinds: frozenset[str] = frozenset()  # sync job kinds it dead-letters
    mentions: str = ""  # a text the finding's detail must hold (e.g. the other channel)

    def explains(self, finding: Finding) -> bool:
        return (
            finding.check in self.checks
            and finding.item in self.items
            and (not self.channels or finding.channel in self.channels)
            and self.mentions in finding.detail
        )

    def explains_dead_letter(self, connection: str, kind: str, key: str) -> bool:
        return kind in self.dead_letter_kinds and key in self.items


PLANTED: tuple[PlantedProblem, ...] = (
    PlantedProblem(
        "product_without_ean",
        "MUG-BLACK is approved but has no EAN: bol.com and Amazon list by EAN, so its listing "
        "is refused there (a dead letter each) and it is never published to them",
        frozenset({"delivery_failed", "approved_not_published"}),
        frozenset({"MUG-BLACK"}),
        frozenset({"bol", "amazon"}),
        frozenset({"listings"}),
    ),
    PlantedProblem(
        "webshop_only_mug_sale",
        "the mugs are on sale (20% off) on the webshop alone, and the price-change scene marks "
        "MUG-WHITE down there again: price parity finds the webshop cheaper than every other "
        "channel for them",
        frozenset({"price_parity"}),
        frozenset({"MUG-WHITE", "MUG-BLACK", "MUG-RED"}),
        mentions=" on webshop",
    ),
)


class ErrorLog(logging.Handler):
    """Counts the ERROR records logged while installed (and keeps the first few)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:  # called under the handler's lock
        self.count += 1
        if len(self.records) < 20:
            self.records.append(f"{record.name}: {record.getMessage()}"[:300])


@contextmanager
def errors_logged() -> Iterator[ErrorLog]:
    """Count the errors logged anywhere (the root logger) while the block runs."""
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def summarize(
    db: Database,
    report: DemoReport,
    started_at: datetime,
    seconds: float,
    errors: ErrorLog | None = None,
) -> dict[str, Any]:
    """The run's summary; ``unplanned_count`` is 0 when nothing went wrong."""
    activity = activity_since(db, started_at)
    audit = run_audit(db, limit=100_000)
    unplanned: list[str] = []
    planted: dict[str, dict[str, Any]] = {
        p.name: {"description": p.description, "findings": 0, "dead_letters": 0} for p in PLANTED
    }
    unexplained: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for finding in audit.findings:
        owner = next((p for p in PLANTED if p.explains(finding)), None)
        if owner is not None:
            planted[owner.name]["findings"] += 1
            continue
        unexplained[finding.check] += 1
        examples.setdefault(finding.check, f"{finding.channel} {finding.item}: {finding.detail}")
    for check, count in sorted(unexplained.items()):
        unplanned.append(f"audit {check}: {count} finding(s), e.g. {examples[check]}"[:400])
    for dead in activity.dead_letters:
        owner = next(
            (p for p in PLANTED if p.explains_dead_letter(dead.connection, dead.kind, dead.key)),
            None,
        )
        if owner is not None:
            planted[owner.name]["dead_letters"] += 1
        else:
            unplanned.append(
                f"dead letter {dead.connection} {dead.kind} {dead.key}: {dead.error}"[:400]
            )
    placed = dict(report.orders_sent)
    orders = {
        channel: {"placed": placed.get(channel, 0), "in_hub": activity.orders.get(channel, 0)}
        for channel in sorted(set(placed) | set(activity.orders))
    }
    for channel, counts in orders.items():
        if counts["in_hub"] < counts["placed"]:
            unplanned.append(
                f"orders on {channel}: {counts['placed']} placed, {counts['in_hub']} reached "
                "the hub"
            )
    unplanned += [f"traffic: {problem}" for problem in report.problems]
    if report.worker_error is not None:
        unplanned.append(f"the sync worker stopped: {report.worker_error!r}"[:400])
    unplanned += [f"worker restarted after: {error}"[:400] for error in report.worker_failures]
    if report.threads_left:
        unplanned.append(f"threads still running after the stop: {report.threads_left}")
    if errors is not None and errors.count:
        unplanned.append(f"{errors.count} error(s) logged, e.g. {errors.records[0]}"[:400])
    deliveries: Counter[str] = Counter()
    for states in activity.jobs.values():
        deliveries.update(states)
    return {
        "seconds": round(seconds, 1),
        "orders": orders,
        "deliveries": dict(sorted(deliveries.items())),
        "deliveries_per_connection": {
            code: dict(sorted(states.items())) for code, states in sorted(activity.jobs.items())
        },
        "dead_letters": len(activity.dead_letters),
        "worker_restarts": len(report.worker_failures),
        "webhook_retries": len(report.narrator.of_kind("webhook_retry")),
        "audit": dict(sorted(audit.counts.items())),
        "audit_scores": {score.channel: score.score for score in audit.scores},
        "planted": planted,
        "unplanned": unplanned,
        "unplanned_count": len(unplanned),
    }
