"""Outbound webhooks: subscriptions of any URL to hub events, and the deliveries queue that
also carries orders forwarded to another connection by a rule.

A delivery is queued in the same transaction that handles its event (unique by dedupe key, so
handling an event twice queues it once), then POSTed at least once with exponential backoff
until a 2xx, or dead after ``sync_max_attempts``. Each request is signed: ``X-Channelhub-
Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`` with the timestamp in
``X-Channelhub-Timestamp``, and carries ``X-Channelhub-Event`` and ``X-Channelhub-Delivery``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from channelhub.automation.rules import EVENTS, RULE_CODE
from channelhub.automation.store import deliveries, subscriptions
from channelhub.connectors.base import DeliveryError, PermanentError
from channelhub.connectors.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    order_from_document,
    sign_timestamped,
)
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput, NotFound, ProblemList
from channelhub.core.settings import get_settings
from channelhub.sync import queue, secrets
from channelhub.sync.connections import load_connection
from channelhub.sync.queue import LeaseQueue

LEASE_SECONDS = 60


@dataclass(frozen=True)
class WebhookInput:
    code: str
    url: str
    secret: str
    events: tuple[str, ...]  # "*" for every event
    enabled: bool = True


@dataclass(frozen=True)
class WebhookView:
    code: str
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DeliveryView:
    id: int
    target: str  # a webhook code, or "connection:<code>" for a forwarded order
    event: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    body: str


def save_webhook(db: Database, spec: WebhookInput) -> WebhookView:
    """Create or replace a subscription; the secret is stored encrypted and never shown."""
    problems = ProblemList()
    if not re.match(RULE_CODE, spec.code):
        problems.add("code", "a code holds a-z, 0-9, _ and - (up to 100)")
    if not re.match(r"^https?://[^\s]+$", spec.url) or len(spec.url) > 2000:
        problems.add("url", "an http(s) URL of up to 2000 characters")
    if len(spec.secret) < 16:
        problems.add("secret", "a secret of at least 16 characters")
    unknown = [e for e in spec.events if e != "*" and e not in EVENTS]
    if not spec.events or unknown:
        problems.add("events", f"events among {', '.join(EVENTS)} or '*'; unknown: {unknown}")
    problems.raise_if_any(f"webhook {spec.code} is not valid")
    now = utcnow()
    values = {
        "url": spec.url,
        "secret": secrets.seal({"secret": spec.secret}),
        "events": sorted(set(spec.events)),
        "enabled": spec.enabled,
        "updated_at": now,
    }
    with db.transaction() as conn:
        found = conn.execute(
            select(subscriptions.c.id).where(subscriptions.c.code == spec.code)
        ).scalar()
        if found is None:
            conn.execute(insert(subscriptions).values(code=spec.code, created_at=now, **values))
        else:
            conn.execute(update(subscriptions).where(subscriptions.c.id == found).values(**values))
    return get_webhook(db, spec.code)


def _view(row: Any) -> WebhookView:
    return WebhookView(
        row.code, row.url, list(row.events), bool(row.enabled), row.created_at, row.updated_at
    )


def get_webhook(db: Database, code: str) -> WebhookView:
    with db.read() as conn:
        row = conn.execute(select(subscriptions).where(subscriptions.c.code == code)).first()
    if row is None:
        raise NotFound(f"webhook {code!r} does not exist")
    return _view(row)


def list_webhooks(db: Database) -> list[WebhookView]:
    with db.read() as conn:
        rows = conn.execute(select(subscriptions).order_by(subscriptions.c.code)).all()
    return [_view(r) for r in rows]


def event_body(event_id: int, name: str, data: dict[str, Any], at: datetime) -> bytes:
    """The JSON document an event webhook carries."""
    return orjson.dumps(
        {"id": f"evt_{event_id}", "event": name, "created_at": at.isoformat(), "data": data},
        default=str,
    )


def enqueue(
    conn: Connection,
    dedupe_key: str,
    event: str,
    body: bytes,
    webhook_id: int | None = None,
    connection: str | None = None,
) -> bool:
    """Queue a delivery in the caller's transaction; False when it was already queued."""
    insert_ = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    stored = conn.execute(
        insert_(deliveries)
        .values(
            webhook_id=webhook_id,
            connection=connection,
            dedupe_key=dedupe_key[:255],
            event=event[:100],
            body=body.decode(),
            state="new",
            attempts=0,
            not_before=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[deliveries.c.dedupe_key])
        .returning(deliveries.c.id)
    ).first()
    return stored is not None


def subscribers(conn: Connection) -> list[tuple[int, str, frozenset[str]]]:
    """(id, code, events) of every enabled subscription."""
    s = subscriptions.c
    return [
        (r.id, r.code, frozenset(r.events))
        for r in conn.execute(select(s.id, s.code, s.events).where(s.enabled.is_(True)))
    ]


def webhook_id(conn: Connection, code: str) -> int:
    found = conn.execute(select(subscriptions.c.id).where(subscriptions.c.code == code)).scalar()
    if found is None:
        raise InvalidInput(f"webhook {code!r} does not exist")
    return int(found)


# --- delivering --------------------------------------------------------------------------


#: The deliveries table as a lease queue: claimed (sending) under a lease, retried with
#: backoff (failed), dead after the last attempt.
DELIVERIES = LeaseQueue(deliveries, queued=("new", "failed"), running="sending")


def _claim(db: Database, limit: int) -> list[Any]:
    d = deliveries.c
    return db.retrying(
        lambda conn: queue.claim(
            conn,
            DELIVERIES,
            limit,
            LEASE_SECONDS,
            returning=(d.id, d.webhook_id, d.connection, d.event, d.body, d.attempts),
        )
    )


async def _post(client: httpx.AsyncClient, url: str, secret: str, item: Any) -> int:
    body = item.body.encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "channelhub-webhooks",
        "X-Channelhub-Event": item.event,
        "X-Channelhub-Delivery": str(item.id),
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign_timestamped(secret, stamp, body),
    }
    response = await client.post(url, content=body, headers=headers, timeout=10.0)
    if response.status_code == 429 or response.status_code >= 500:
        raise DeliveryError(f"{url} answered {response.status_code}", status=response.status_code)
    if not response.is_success:
        raise PermanentError(
            f"{url} answered {response.status_code}: {response.text[:200]}",
            status=response.status_code,
        )
    return response.status_code


async def _forward(db: Database, code: str, item: Any) -> int | None:
    record = await asyncio.to_thread(load_connection, db, code)
    document = orjson.loads(item.body)
    async with httpx.AsyncClient() as client:
        connector = record.connector(client)
        forward = getattr(connector, "forward_order", None)
        if forward is None:
            raise PermanentError(f"the {record.platform} connector cannot create orders")
        order = order_from_document(document["order"])
        await forward(order, str(document.get("source_channel", "")))
    return None


def _subscriptions(db: Database) -> dict[int, Any]:
    with db.read() as conn:
        return {r.id: r for r in conn.execute(select(subscriptions))}


#: What a target's answer or the network can do to a delivery: kept as a one-line error.
_EXPECTED = (DeliveryError, httpx.HTTPError, InvalidInput, NotFound, KeyError)


async def deliver_due(db: Database, limit: int = 100) -> int:
    """POST every due delivery once; record success, a retry with backoff, or dead. Any
    exception is kept on its delivery (with the traceback when unexpected): one delivery
    cannot stop the others or the loop."""
    claimed = await asyncio.to_thread(_claim, db, limit)
    if not claimed:
        return 0
    hooks = await asyncio.to_thread(_subscriptions, db)
    outcomes: list[tuple[Any, int | None, queue.Failure | None]] = []
    async with httpx.AsyncClient() as client:
        for item in claimed:
            status: int | None = None
            try:
                if item.webhook_id is not None:
                    hook = hooks[item.webhook_id]
                    secret = str(secrets.unseal(hook.secret)["secret"])
                    status = await _post(client, hook.url, secret, item)
                else:
                    status = await _forward(db, str(item.connection), item)
                outcomes.append((item, status, None))
            except Exception as error:  # the guard: recorded on the delivery, never raised
                retryable = getattr(error, "retryable", not isinstance(error, InvalidInput))
                text = (
                    queue.storable(f"{type(error).__name__}: {error}"[:2000])
                    if isinstance(error, _EXPECTED)
                    else queue.describe(error)
                )
                outcomes.append(
                    (item, getattr(error, "status", None), queue.Failure(text, retryable))
                )
    await asyncio.to_thread(_record, db, outcomes)
    return len(claimed)


def _record(db: Database, outcomes: Sequence[tuple[Any, int | None, queue.Failure | None]]) -> None:
    max_attempts = get_settings().sync_max_attempts

    def write(conn: Connection) -> None:
        for item, status, failure in sorted(outcomes, key=lambda o: int(o[0].id)):
            if failure is None:
                queue.settle(conn, DELIVERIES, item.id, last_status=status, delivered_at=utcnow())
            else:
                queue.fail(
                    conn,
                    DELIVERIES,
                    item.id,
                    item.attempts,
                    failure,
                    max_attempts,
                    last_status=status,
                    delivered_at=None,
                )

    db.retrying(write)


def list_deliveries(
    db: Database, target: str | None = None, state: str | None = None, limit: int = 100
) -> list[DeliveryView]:
    """The delivery log, newest first: to a webhook ``target`` or ``connection:<code>``."""
    d, s = deliveries.c, subscriptions.c
    query = (
        select(deliveries, s.code.label("hook"))
        .join(subscriptions, s.id == d.webhook_id, isouter=True)
        .order_by(d.id.desc())
        .limit(limit)
    )
    if target is not None:
        if target.startswith("connection:"):
            query = query.where(d.connection == target.partition(":")[2])
        else:
            query = query.where(s.code == target)
    if state is not None:
        query = query.where(d.state == state)
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [
        DeliveryView(
            r.id,
            r.hook if r.hook else f"connection:{r.connection}",
            r.event,
            r.state,
            r.attempts,
            r.last_status,
            r.last_error,
            r.created_at,
            r.delivered_at,
            r.body,
        )
        for r in rows
    ]


def replay_delivery(db: Database, delivery_id: int) -> None:
    """Send a dead (or done) delivery again."""
    with db.transaction() as conn:
        done = conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(state="new", attempts=0, not_before=utcnow(), last_error=None)
        )
    if done.rowcount != 1:
        raise NotFound(f"no delivery {delivery_id}")
