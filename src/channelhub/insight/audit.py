"""The channel-consistency audit: where the channels disagree with the hub or with each other,
what to do about each finding, and a score per channel for how far it is from integrated.

Checks, each on every channel it applies to:
- ``price_parity``: the same SKU priced differently on integrated channels of one currency
  (the pricing module's parity rules decide what counts as different);
- ``phantom_stock`` / ``stock_behind``: the channel shows more (oversell risk) or less (lost
  sales) than the hub lets it sell; ``price_drift``: it shows another price (read back from the
  channel where its API allows, with ``read_back``);
- ``approved_not_published``: approved and complete for the channel, never delivered to it;
  ``published_incomplete``: the channel last got it while it was publishable, and it no longer
  is; ``content_differs``: the approved content changed after the last delivery and no delivery
  is queued or running;
- ``orders_not_imported``: orders the channel sent that the hub has not applied, and polling
  that has fallen behind;
- ``delivery_failed``: dead letters waiting for a replay;
- ``independent_channel``: the channel still runs on its own stock pool and prices;
- ``customer_not_linked``: orders that name a customer (an e-mail, a phone, a name, an id)
  but were not linked to a customer profile after ``LINK_GRACE``, so that customer's history,
  loyalty and service notes miss them; ``customer_match_pending``: a customer record of the
  channel that may be the same person as a record elsewhere, waiting for someone to confirm or
  reject the match.

The audit only reads: it changes nothing in the hub or on the channels.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.engine import Connection

from channelhub.catalog.model import ProductKind, Status
from channelhub.catalog.store import channels, product_gaps, products
from channelhub.connectors.base import Capability, DeliveryError
from channelhub.core.database import Database, utcnow
from channelhub.customers.store import (
    customer_match_suggestions,
    customer_order_links,
    customer_records,
)
from channelhub.orders.store import orders
from channelhub.pricing.parity import parity_report
from channelhub.sync import values
from channelhub.sync.connections import load_connection
from channelhub.sync.delivery import ConnectionRuntime
from channelhub.sync.model import JobKind
from channelhub.sync.store import connections, inbox, jobs

#: Findings kept per check and channel (the counts are always complete).
DEFAULT_LIMIT = 200
#: An inbound message older than this that is not applied counts as not imported.
INBOX_GRACE = timedelta(minutes=5)
READ_CHUNK = 100
#: An order not linked to a customer profile this long after it was imported is a finding (the
#: worker links new orders within seconds).
LINK_GRACE = timedelta(minutes=10)


class Severity(StrEnum):
    ERROR = "error"  # customers see something wrong now (wrong price, phantom stock)
    WARNING = "warning"  # the channel is behind or drifting


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    channel: str
    item: str  # a SKU, an order, a connection
    detail: str
    action: str
    connection: str | None = None


@dataclass
class ChannelScore:
    channel: str
    mode: str
    checked: int = 0  # items looked at
    failing: int = 0  # distinct items with at least one finding
    findings: int = 0
    score: int = 100  # 0..100: share of items without findings, less 25 when independent


@dataclass
class AuditReport:
    at: datetime
    read_back: bool
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # check -> findings (uncapped)
    scores: list[ChannelScore] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what could not be checked, and why
    seconds: float = 0.0


class _Collector:
    def __init__(self, report: AuditReport, limit: int) -> None:
        self.report = report
        self.limit = limit
        self.kept: dict[tuple[str, str], int] = defaultdict(int)
        self.failing: dict[str, set[str]] = defaultdict(set)
        self.checked: dict[str, int] = defaultdict(int)
        self.findings: dict[str, int] = defaultdict(int)

    def add(self, finding: Finding) -> None:
        self.report.counts[finding.check] = self.report.counts.get(finding.check, 0) + 1
        self.failing[finding.channel].add(finding.item)
        self.findings[finding.channel] += 1
        key = (finding.check, finding.channel)
        if self.kept[key] < self.limit:
            self.kept[key] += 1
            self.report.findings.append(finding)


def run_audit(
    db: Database,
    *,
    read_back: bool = False,
    channel_codes: Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> AuditReport:
    """Audit every channel (or ``channel_codes``); ``read_back`` also asks each connected
    platform for its stock and prices where its API allows (one call per 100 SKUs)."""
    started = utcnow()
    report = AuditReport(at=started, read_back=read_back)
    out = _Collector(report, limit)
    with db.read() as conn:
        chosen = [
            row
            for row in conn.execute(select(channels).order_by(channels.c.code))
            if not channel_codes or row.code in channel_codes
        ]
        links = [
            row
            for row in conn.execute(select(connections).order_by(connections.c.code))
            if row.enabled and any(row.channel == c.code for c in chosen)
        ]
        for channel in chosen:
            if channel.mode != "integrated":
                out.add(
                    Finding(
                        "independent_channel",
                        Severity.WARNING,
                        channel.code,
                        channel.code,
                        "runs on its own stock pool; its prices are not parity checked",
                        "clear the channel's findings, then switch it: `channelhub channel "
                        f"add {channel.code} --mode integrated ...` with its other settings",
                    )
                )
        _customer_checks(conn, out, chosen, started)
        for link in links:
            channel_id = next(c.id for c in chosen if c.code == link.channel)
            subscriptions = set(link.subscriptions or [])
            if JobKind.LISTINGS.value in subscriptions:
                _catalog_checks(conn, out, link, channel_id)
            _order_checks(conn, out, link, started)
            _dead_letters(conn, out, link)
    with db.read() as conn:
        integrated = list(
            conn.execute(select(channels.c.code).where(channels.c.mode == "integrated")).scalars()
        )
    _price_parity(db, out, integrated, {c.code for c in chosen})
    if read_back:
        for link in links:
            asyncio.run(_read_back(db, out, link.code))
    for channel in chosen:
        checked = out.checked[channel.code]
        failing = len(out.failing[channel.code])
        score = 100 if checked == 0 else round(100 * max(0, checked - failing) / checked)
        if channel.mode != "integrated":
            score = max(0, score - 25)
        report.scores.append(
            ChannelScore(
                channel.code, channel.mode, checked, failing, out.findings[channel.code], score
            )
        )
    report.seconds = round((utcnow() - started).total_seconds(), 3)
    return report


def _catalog_checks(conn: Connection, out: _Collector, link: Any, channel_id: int) -> None:
    """Listings against the approved catalog, from the connection's delivery history."""
    done = (
        select(
            jobs.c.key.label("sku"),
            func.max(jobs.c.finished_at).label("delivered_at"),
        )
        .where(
            jobs.c.connection_id == link.id,
            jobs.c.kind == JobKind.LISTINGS.value,
            jobs.c.state == "done",
        )
        .group_by(jobs.c.key)
        .subquery()
    )
    open_jobs = (
        select(jobs.c.key)
        .where(
            jobs.c.connection_id == link.id,
            jobs.c.kind == JobKind.LISTINGS.value,
            jobs.c.state.in_(("new", "processing", "failed", "waiting")),
        )
        .subquery()
    )
    gap = exists().where(
        and_(product_gaps.c.product_id == products.c.id, product_gaps.c.channel_id == channel_id)
    )
    rows = conn.execute(
        select(
            products.c.sku,
            products.c.status,
            products.c.updated_at,
            gap.label("incomplete"),
            done.c.delivered_at,
            products.c.sku.in_(select(open_jobs.c.key)).label("queued"),
        )
        .outerjoin(done, done.c.sku == products.c.sku)
        .where(products.c.kind != ProductKind.MODEL.value)
    )
    code = link.channel
    for row in rows:
        out.checked[code] += 1
        publishable = row.status == Status.APPROVED.value and not row.incomplete
        if row.delivered_at is None:
            if publishable and not row.queued:
                out.add(
                    Finding(
                        "approved_not_published",
                        Severity.WARNING,
                        code,
                        row.sku,
                        "approved and complete for the channel, never delivered to it",
                        f"`channelhub sync push {link.code}` (or check the connection's "
                        "subscriptions)",
                        link.code,
                    )
                )
            continue
        delivered_at = row.delivered_at
        if isinstance(delivered_at, str):  # SQLite returns MAX() over a join as text
            delivered_at = datetime.fromisoformat(delivered_at).replace(
                tzinfo=row.updated_at.tzinfo
            )
        if row.updated_at > delivered_at and not row.queued:
            if publishable:
                out.add(
                    Finding(
                        "content_differs",
                        Severity.WARNING,
                        code,
                        row.sku,
                        f"changed at {row.updated_at:%Y-%m-%d %H:%M}, last delivered "
                        f"{delivered_at:%Y-%m-%d %H:%M}; no delivery queued",
                        f"`channelhub sync push {link.code} --kind listings`",
                        link.code,
                    )
                )
            else:
                why = "is incomplete for it" if row.incomplete else f"is {row.status}"
                out.add(
                    Finding(
                        "published_incomplete",
                        Severity.ERROR,
                        code,
                        row.sku,
                        f"still live on the channel from {delivered_at:%Y-%m-%d %H:%M}, but "
                        f"the product {why}",
                        f"complete the product for {code}, or push listings to put it on hold",
                        link.code,
                    )
                )


def _order_checks(conn: Connection, out: _Collector, link: Any, now: datetime) -> None:
    code = link.channel
    stuck = conn.execute(
        select(inbox.c.dedupe_key, inbox.c.topic, inbox.c.state, inbox.c.last_error)
        .where(
            inbox.c.connection_id == link.id,
            inbox.c.state != "done",
            inbox.c.received_at < now - INBOX_GRACE,
        )
        .order_by(inbox.c.id)
    )
    for row in stuck:
        out.checked[code] += 1
        why = f": {row.last_error[:200]}" if row.last_error else ""
        out.add(
            Finding(
                "orders_not_imported",
                Severity.ERROR,
                code,
                row.dedupe_key,
                f"{row.topic} received but {row.state}{why}",
                f"see `channelhub sync log --connection {link.code}` for the cause; "
                "the worker retries it",
                link.code,
            )
        )
    if link.poll_seconds and link.next_poll_at is not None:
        out.checked[code] += 1
        behind = (now - link.next_poll_at).total_seconds()
        if behind > 2 * link.poll_seconds + 60:
            out.add(
                Finding(
                    "orders_not_imported",
                    Severity.ERROR,
                    code,
                    link.code,
                    f"order polling is {round(behind)} s overdue (every {link.poll_seconds} s)",
                    "start a worker (`channelhub worker`) or test the connection",
                    link.code,
                )
            )


def _customer_checks(conn: Connection, out: _Collector, chosen: list[Any], now: datetime) -> None:
    """Orders of each channel not linked to a customer profile, and the channel's customer
    records waiting on a possible match."""
    o, code_of = orders.c, {c.id: c.code for c in chosen}
    for channel_id, count in conn.execute(
        select(o.channel_id, func.count())
        .where(o.channel_id.in_(list(code_of)), o.created_at < now - LINK_GRACE)
        .group_by(o.channel_id)
    ):
        out.checked[code_of[channel_id]] += int(count)
    unlinked = conn.execute(
        select(o.channel_id, o.external_id, o.customer, o.shipping_address, o.billing_address)
        .where(
            o.channel_id.in_(list(code_of)),
            o.created_at < now - LINK_GRACE,
            ~exists().where(customer_order_links.c.order_id == o.id),
        )
        .order_by(o.id)
    )
    for row in unlinked:
        who = _named_customer(row.customer, row.shipping_address, row.billing_address)
        if who is None:
            continue  # a guest without any detail: nobody to link
        out.add(
            Finding(
                "customer_not_linked",
                Severity.WARNING,
                code_of[row.channel_id],
                row.external_id,
                f"the order names {who} but is not linked to a customer profile: their "
                "history, loyalty and service notes miss it",
                "start a worker (`channelhub worker`), or `channelhub customers link-orders`",
            )
        )
    _pending_matches(conn, out, set(code_of.values()))


def _named_customer(customer: Any, *addresses: Any) -> str | None:
    """What identifies the order's customer, as identity resolution reads it; None for a
    guest order without any detail."""
    details = customer if isinstance(customer, dict) else {}
    for key in ("email", "phone", "customer_id", "id", "name"):
        if details.get(key):
            return f"{key.replace('_', ' ')} {details[key]}"
    for address in addresses:
        if isinstance(address, dict) and address.get("name"):
            return f"name {address['name']}"
    return None


def _pending_matches(conn: Connection, out: _Collector, audited: set[str]) -> None:
    s, mine, theirs = (
        customer_match_suggestions.c,
        customer_records.alias("mine"),
        customer_records.alias("theirs"),
    )
    for record_column, other_column in ((s.record_a, s.record_b), (s.record_b, s.record_a)):
        rows = conn.execute(
            select(
                mine.c.channel,
                mine.c.source_ref,
                theirs.c.channel,
                theirs.c.source_ref,
                s.id,
                s.score,
            )
            .join_from(customer_match_suggestions, mine, mine.c.id == record_column)
            .join(theirs, theirs.c.id == other_column)
            .where(s.status == "pending", mine.c.channel.in_(sorted(audited)))
            .order_by(s.id)
        )
        for channel, ref, other_channel, other_ref, suggestion, score in rows:
            out.checked[channel] += 1
            out.add(
                Finding(
                    "customer_match_pending",
                    Severity.WARNING,
                    channel,
                    ref,
                    f"may be the same customer as {other_channel} {other_ref} (score "
                    f"{score:.2f}); until decided they are two profiles",
                    f"confirm or reject suggestion {suggestion} in the admin (customers) or "
                    f"`channelhub customers confirm {suggestion}`",
                )
            )


def _dead_letters(conn: Connection, out: _Collector, link: Any) -> None:
    code = link.channel
    for row in conn.execute(
        select(jobs.c.kind, jobs.c.key, jobs.c.last_error)
        .where(jobs.c.connection_id == link.id, jobs.c.state == "dead")
        .order_by(jobs.c.id)
    ):
        out.checked[code] += 1
        out.add(
            Finding(
                "delivery_failed",
                Severity.ERROR,
                code,
                row.key,
                f"{row.kind} gave up: {(row.last_error or 'no error recorded')[:200]}",
                f"fix the cause, then `channelhub sync replay --connection {link.code}`",
                link.code,
            )
        )


def _price_parity(db: Database, out: _Collector, integrated: list[str], audited: set[str]) -> None:
    """Parity over every integrated channel; findings only for the audited ones."""
    if len(integrated) < 2:
        return
    report = parity_report(db, channels=integrated)
    for code in (c for codes in report.compared.values() for c in codes):
        if code in audited:
            out.checked[code] += report.skus_checked
    for code, why in report.not_compared.items():
        if code in audited:
            out.report.skipped.append(f"price parity on {code}: {why}")
    for found in report.breaks:
        detail = (
            f"{found.price} on {found.channel}, {found.other_price} on {found.other_channel}"
            if found.price is not None and found.other_price is not None
            else f"priced on {found.channel if found.price is not None else found.other_channel}"
            " only"
        )
        action = "align the price lists, or add a parity rule that allows the difference"
        for channel in (found.channel, found.other_channel):
            if channel not in audited:
                continue
            out.add(Finding("price_parity", Severity.ERROR, channel, found.sku, detail, action))


async def _read_back(db: Database, out: _Collector, code: str) -> None:
    record = await asyncio.to_thread(load_connection, db, code)
    runtime = ConnectionRuntime.open(record, concurrency=2)
    try:
        connector = runtime.connector
        checks = []
        if Capability.READ_STOCK in connector.capabilities:
            checks.append(JobKind.STOCK)
        else:
            out.report.skipped.append(f"{code}: the {record.platform} API cannot read stock back")
        if Capability.READ_PRICES in connector.capabilities:
            checks.append(JobKind.PRICES)
        else:
            out.report.skipped.append(f"{code}: the {record.platform} API cannot read prices back")
        for kind in checks:
            skus = await asyncio.to_thread(_delivered_skus, db, record.id, kind)
            for start in range(0, len(skus), READ_CHUNK):
                chunk = skus[start : start + READ_CHUNK]
                try:
                    if kind is JobKind.STOCK:
                        hub = await asyncio.to_thread(values.stock_levels, db, record, chunk)
                        seen_stock = await connector.read_stock(chunk)
                        for sku in chunk:
                            _compare_stock(out, record, sku, hub.get(sku), seen_stock.get(sku))
                    else:
                        prices = await asyncio.to_thread(values.channel_prices, db, record, chunk)
                        seen_prices = await connector.read_prices(chunk)
                        for sku in chunk:
                            _compare_price(out, record, sku, prices.get(sku), seen_prices.get(sku))
                except DeliveryError as error:
                    out.report.skipped.append(f"{code}: reading {kind.value} back failed: {error}")
                    break
    finally:
        await runtime.close()


def _delivered_skus(db: Database, connection_id: int, kind: JobKind) -> list[str]:
    with db.read() as conn:
        return sorted(
            conn.execute(
                select(jobs.c.key)
                .where(jobs.c.connection_id == connection_id, jobs.c.kind == kind.value)
                .distinct()
            ).scalars()
        )


def _compare_stock(out: _Collector, record: Any, sku: str, hub: Any, seen: int | None) -> None:
    if hub is None:
        return
    code = record.channel
    out.checked[code] += 1
    if seen is None or seen == hub.quantity:
        return
    if seen > hub.quantity:
        check, severity = "phantom_stock", Severity.ERROR
        detail = f"the channel shows {seen}, the hub can sell {hub.quantity}: it can oversell"
    else:
        check, severity = "stock_behind", Severity.WARNING
        detail = f"the channel shows {seen}, the hub can sell {hub.quantity}: lost sales"
    out.add(
        Finding(
            check,
            severity,
            code,
            sku,
            detail,
            f"`channelhub sync reconcile {record.code}` queues the correction",
            record.code,
        )
    )


def _compare_price(out: _Collector, record: Any, sku: str, hub: Any, seen: Decimal | None) -> None:
    if hub is None:
        return
    code = record.channel
    out.checked[code] += 1
    if seen is None or Decimal(seen) == Decimal(hub.amount):
        return
    out.add(
        Finding(
            "price_drift",
            Severity.ERROR,
            code,
            sku,
            f"the channel shows {seen} {hub.currency}, the hub's price is {hub.amount}",
            f"`channelhub sync reconcile {record.code}` queues the correction",
            record.code,
        )
    )
