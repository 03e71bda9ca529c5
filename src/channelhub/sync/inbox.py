"""The inbox: platform webhooks verified on the raw body and stored once (deduplicated), then
applied by the worker through the hub's services, one message at a time; and order polling
with a persisted cursor for channels without webhooks. An order webhook without the order (a
reference, as bol.com sends) makes the connection's order poll due at once."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from channelhub.connectors.base import (
    Capability,
    ChannelOrder,
    Connector,
    DeliveryError,
    WebhookMessage,
)
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput, NotFound, Unauthenticated
from channelhub.core.settings import get_settings
from channelhub.orders.model import (
    Customer,
    DeliveryMethod,
    LineInput,
    OrderInput,
    PaymentStatus,
    PostalAddress,
)
from channelhub.orders.service import import_order
from channelhub.sync import queue
from channelhub.sync.connections import ConnectionRecord, record_from_row
from channelhub.sync.messages import write_messages
from channelhub.sync.model import redact_headers, redact_text
from channelhub.sync.queue import LeaseQueue
from channelhub.sync.store import connections, inbox

log = logging.getLogger("channelhub.sync.inbox")
MAX_BODY = 1_000_000
_offline: httpx.AsyncClient | None = None


def _offline_client() -> httpx.AsyncClient:
    """A client for connectors used only to verify and parse (they make no calls then)."""
    global _offline
    if _offline is None:
        _offline = httpx.AsyncClient()
    return _offline


@dataclass(frozen=True)
class Received:
    stored: bool  # False: a redelivery of a message already stored, or a ping
    dedupe_key: str
    ping: bool = False  # the platform's unsigned liveness call: answered, never stored


def _record(conn: Connection, code: str) -> ConnectionRecord:
    row = conn.execute(select(connections).where(connections.c.code == code)).first()
    if row is None or not row.enabled:
        raise NotFound(f"no enabled connection {code!r}")
    record = record_from_row(row)
    if Capability.RECEIVE_WEBHOOKS not in record.connector_class.capabilities:
        raise NotFound(f"connection {code!r} does not receive webhooks")
    return record


def receive_webhook(db: Database, code: str, headers: Mapping[str, str], body: bytes) -> Received:
    """Verify a webhook's signature on the raw body, then store it once. A forged or unsigned
    message stores nothing (Unauthenticated)."""
    if len(body) > MAX_BODY:
        raise InvalidInput("the message is too large")
    with db.read() as conn:
        record = _record(conn, code)
    connector = record.connector(_offline_client())
    if connector.is_ping(headers, body):
        return Received(stored=False, dedupe_key="", ping=True)
    try:
        verified = connector.verify_webhook(headers, body)
    except Exception:  # a connector must not raise on garbage; treat it as unverified
        verified = False
    if not verified:
        raise Unauthenticated("the webhook's signature does not verify")
    try:
        message = connector.parse_webhook(headers, body)
    except (DeliveryError, ValueError, KeyError, TypeError) as error:
        raise InvalidInput(f"the webhook cannot be read: {error}") from None
    dedupe = message.event_id or hashlib.sha256(body).hexdigest()
    now = utcnow()
    text = body.decode("utf-8", errors="replace")
    kept_headers = {k.lower(): v for k, v in headers.items() if len(v) < 2000}
    with db.transaction() as conn:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stored = (
            conn.execute(
                insert(inbox)
                .values(
                    connection_id=record.id,
                    dedupe_key=dedupe[:255],
                    topic=message.topic[:100],
                    entity=(message.entity or "")[:255] or None,
                    body=text,
                    headers=kept_headers,
                    state="new",
                    attempts=0,
                    received_at=now,
                )
                .on_conflict_do_nothing(index_elements=[inbox.c.connection_id, inbox.c.dedupe_key])
                # RETURNING, not rowcount: psycopg reports -1 rows for a skipped insert that
                # SQLAlchemy gave an implicit RETURNING, which read as "stored" on PostgreSQL.
                .returning(inbox.c.id)
            ).first()
            is not None
        )
        write_messages(
            conn,
            [
                {
                    "at": now,
                    "connection_id": record.id,
                    "direction": "in",
                    "kind": "orders",
                    "keys": f" {message.entity or ''} ",
                    "status": "received" if stored else "duplicate",
                    "method": "POST",
                    "request_body": "".join(
                        f"{k}: {v}\n" for k, v in redact_headers(kept_headers.items()).items()
                    )
                    + "\n"
                    + redact_text(text, record.secret_values)[:20_000],
                }
            ],
        )
    return Received(bool(stored), dedupe)


def order_input(channel: str, order: ChannelOrder) -> OrderInput:
    """A channel's order in the hub's shape."""
    ship = order.shipping_address
    bill = order.billing_address
    return OrderInput(
        channel=channel,
        external_id=order.external_id,
        currency=order.currency,
        lines=tuple(
            LineInput(
                line.sku,
                line.quantity,
                line.unit_price,
                line.discount,
                line.tax,
                line.external_line_id,
            )
            for line in order.lines
        ),
        customer=Customer(
            email=order.customer_email or (ship.email if ship and ship.email else ""),
            name=order.customer_name or (ship.name if ship and ship.name else ""),
            phone=(ship.phone if ship and ship.phone else ""),
        ),
        billing_address=_address(bill),
        shipping_address=_address(ship),
        delivery_method=(
            DeliveryMethod.SHIP
            if not order.pickup_location
            else DeliveryMethod.IN_STORE
            if order.in_store
            else DeliveryMethod.PICKUP
        ),
        pickup_location=order.pickup_location,
        payment_status=PaymentStatus.PAID if order.is_paid else PaymentStatus.PENDING,
        placed_at=order.created_at,
        cancelled=order.cancelled,
        notes={"external_lines": ",".join(line.external_line_id for line in order.lines)},
    )


def _address(address: Any) -> PostalAddress:
    if address is None:
        return PostalAddress()
    return PostalAddress(
        name=address.name or "",
        line1=address.line1 or "",
        line2=address.line2 or "",
        postal_code=address.postal_code or "",
        city=address.city or "",
        country=address.country or "",
    )


def _apply(db: Database, record: ConnectionRecord, message: WebhookMessage) -> None:
    if message.order is None and message.topic == "orders":
        poll_now(db, record)
        return
    if message.order is not None:
        result = import_order(db, order_input(record.channel, message.order), actor=record.code)
        if result.outcome == "rejected":
            detail = "; ".join(f"{p.location}: {p.message}" for p in result.problems)
            raise InvalidInput(f"order {message.order.external_id} rejected: {detail}")


INBOX = LeaseQueue(inbox, queued=("new", "failed"), running="processing", due=None)


def apply_inbox(db: Database, limit: int = 50) -> int:
    """Apply stored messages through the services (an order webhook imports the order, which
    is idempotent by channel and external id); the number applied or failed.

    Each message runs under the queue's guard: whatever it raises (a refused order, text the
    database cannot hold, a number out of range, a bug) is kept on the message with its
    traceback, the message is retried after a backoff or dead-lettered, and the next one
    goes on. Messages a stopped worker held are taken over when their lease runs out.
    """
    settings = get_settings()

    def take(conn: Connection) -> tuple[list[Any], dict[int, Any]]:
        claimed = queue.claim(
            conn,
            INBOX,
            limit,
            settings.sync_lease_seconds,
            returning=(
                inbox.c.id,
                inbox.c.connection_id,
                inbox.c.body,
                inbox.c.headers,
                inbox.c.attempts,
            ),
        )
        return claimed, {r.id: r for r in conn.execute(select(connections))}

    claimed, rows = db.retrying(take)
    records: dict[int, ConnectionRecord] = {}
    for item in claimed:
        failure: queue.Failure | None = None
        try:
            if item.connection_id not in records:
                records[item.connection_id] = record_from_row(rows[item.connection_id])
            record = records[item.connection_id]
            connector: Connector = record.connector(_offline_client())
            message = connector.parse_webhook(dict(item.headers), item.body.encode())
            _apply(db, record, message)
        except Exception as error:  # the guard: no message may stop the worker
            failure = queue.failure_of(error)
            log.warning("inbox message %s failed (attempt %s): %s", item.id, item.attempts, error)

        def record_result(conn: Connection, item: Any = item, failure: Any = failure) -> None:
            if failure is None:
                queue.settle(conn, INBOX, item.id, applied_at=utcnow())
            else:
                queue.fail(conn, INBOX, item.id, item.attempts, failure, settings.sync_max_attempts)

        db.retrying(record_result)
    return len(claimed)


def poll_now(db: Database, record: ConnectionRecord) -> None:
    """Make the connection's order poll due now: an order notification that carries only a
    reference (bol.com) is followed by a poll, not by the schedule."""
    if not record.poll_seconds:
        log.warning("order notification on %s, which has no poll interval to fetch it", record.code)
        return
    now = utcnow()
    with db.transaction() as conn:
        conn.execute(
            update(connections)
            .where(
                connections.c.id == record.id,
                or_(connections.c.next_poll_at.is_(None), connections.c.next_poll_at > now),
            )
            .values(next_poll_at=now)
        )


def claim_poll(db: Database, record: ConnectionRecord) -> str | bool | None:
    """Whether this worker polls ``record`` now (False), else its cursor (str or None)."""
    now = utcnow()
    if not record.poll_seconds:
        return False
    with db.transaction() as conn:
        taken = conn.execute(
            update(connections)
            .where(connections.c.id == record.id, connections.c.next_poll_at <= now)
            .values(next_poll_at=now + timedelta(seconds=record.poll_seconds))
            .returning(connections.c.poll_cursor)
        ).first()
    if taken is None:
        return False
    cursor: str | None = taken.poll_cursor
    return cursor


async def poll_orders(db: Database, record: ConnectionRecord, connector: Connector) -> int:
    """Fetch the next page of orders (when due), import them, then keep the cursor."""
    cursor = await asyncio.to_thread(claim_poll, db, record)
    if cursor is False:
        return 0
    page = await connector.fetch_orders(cursor if isinstance(cursor, str) else None)

    def store_page() -> None:
        for order in page.orders:
            result = import_order(db, order_input(record.channel, order), actor=record.code)
            if result.outcome == "rejected":
                log.warning(
                    "polled order %s on %s rejected: %s",
                    order.external_id,
                    record.code,
                    "; ".join(p.message for p in result.problems),
                )
        with db.transaction() as conn:
            conn.execute(
                update(connections)
                .where(connections.c.id == record.id)
                .values(poll_cursor=page.cursor)
            )

    await asyncio.to_thread(store_page)
    return len(page.orders)
