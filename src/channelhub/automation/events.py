"""Hub events as rules and webhooks see them: outbox rows named in the public vocabulary
(``order.created``, ``stock.changed``...) with their data filled in from the hub at the time
they are handled (an order's total and SKUs, a SKU's stock across locations).

The outbox is read after a persisted position. On PostgreSQL an id can become visible after a
higher one (ids are handed out before commit), so skipped ids are remembered for a minute as
gaps and looked for again, as the sync dispatcher does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from channelhub.automation.store import positions
from channelhub.catalog.service import get_channel
from channelhub.core.database import Database
from channelhub.core.errors import NotFound
from channelhub.core.events import OutboxCursor, outbox
from channelhub.inventory.model import SHARED_POOL
from channelhub.inventory.service import stock_levels
from channelhub.orders.service import get_order

GAP_SECONDS = 60.0


@dataclass(frozen=True)
class HubEvent:
    id: int  # the outbox id: the event's identity for idempotency
    name: str
    key: str
    data: dict[str, Any]
    created_at: datetime


def public_name(topic: str, payload: dict[str, Any]) -> str | None:
    """The public name of an outbox topic (None: not published)."""
    if topic == "orders.status_changed":
        if payload.get("from") is None:
            return "order.created"
        target = payload.get("to")
        if target in ("shipped", "partially_shipped"):
            return "order.shipped"
        if target == "cancelled":
            return "order.cancelled"
        return "order.status_changed"
    return {
        "orders.returned": "order.returned",
        "inventory.atp_changed": "stock.changed",
        "pricing.price_changed": "price.changed",
        "catalog.product_changed": "product.changed",
    }.get(topic, "stock.alert" if topic.startswith("inventory.") else None)


def _order_data(db: Database, payload: dict[str, Any]) -> dict[str, Any]:
    data = dict(payload)
    try:
        order = get_order(db, int(payload["order_id"]))
    except (NotFound, KeyError, TypeError, ValueError):
        return data
    try:
        channel_kind = get_channel(db, order.channel).kind.value
    except NotFound:
        channel_kind = None
    data.update(
        channel=order.channel,
        channel_kind=channel_kind,
        external_id=order.external_id,
        status=order.status.value,
        total=str(order.total),
        currency=order.currency,
        skus=sorted({line.sku for line in order.lines}),
        units=sum(line.quantity for line in order.lines),
        lines=[
            {"sku": line.sku, "quantity": line.quantity, "unit_price": str(line.unit_price)}
            for line in order.lines
        ],
        customer_email=order.customer.get("email") or None,
        delivery_method=order.delivery_method.value,
    )
    return data


def _stock_data(db: Database, sku: str, payload: dict[str, Any]) -> dict[str, Any]:
    levels = [s for s in stock_levels(db, sku=sku, limit=10_000) if s.pool == SHARED_POOL]
    on_hand = sum(s.on_hand for s in levels)
    reserved = sum(s.reserved for s in levels)
    return {
        **payload,
        "sku": sku,
        "on_hand": on_hand,
        "reserved": reserved,
        "available": sum(s.sellable for s in levels),
        "locations": {s.location: s.on_hand - s.reserved for s in levels},
    }


def describe(
    db: Database, row_id: int, topic: str, key: str, payload: Any, at: datetime
) -> HubEvent | None:
    """The public event of one outbox row, with its data filled in (None: not published)."""
    payload = dict(payload) if isinstance(payload, dict) else {}
    name = public_name(topic, payload)
    if name is None:
        return None
    if name.startswith("order.") and "order_id" in payload:
        data = _order_data(db, payload)
    elif name == "stock.changed":
        data = _stock_data(db, str(payload.get("sku", key)), payload)
    else:
        data = payload
    return HubEvent(row_id, name, key, data, at)


def _lock(conn: Connection, name: str) -> dict[str, Any]:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(positions)
        .values(name=name, value={"position": 0, "gaps": {}})
        .on_conflict_do_nothing(index_elements=[positions.c.name])
    )
    query = select(positions.c.value).where(positions.c.name == name)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    value: dict[str, Any] = dict(conn.execute(query).scalar_one())
    return value


def start_at_now(db: Database, name: str) -> None:
    """Start reading after the newest event (a new installation does not replay history)."""
    with db.transaction() as conn:
        _lock(conn, name)
        newest = conn.execute(select(outbox.c.id).order_by(outbox.c.id.desc()).limit(1)).scalar()
        conn.execute(
            update(positions)
            .where(positions.c.name == name)
            .values(value={"position": int(newest or 0), "gaps": {}})
        )


def take_events(conn: Connection, name: str, limit: int) -> list[Any]:
    """The next outbox rows after the reader ``name``'s position, which moves past them in the
    caller's transaction (at-least-once: the caller's effects commit with the position)."""
    value = _lock(conn, name)
    cursor = OutboxCursor.load(value)
    rows = conn.execute(
        select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload, outbox.c.created_at)
        .where(cursor.unread())
        .order_by(outbox.c.id)
        .limit(limit)
    ).all()
    if not rows:
        return []
    cursor.advance([r.id for r in rows], conn.dialect.name, GAP_SECONDS)
    conn.execute(update(positions).where(positions.c.name == name).values(value=cursor.stored()))
    return list(rows)


def recent_events(db: Database, limit: int, name: str | None = None) -> list[HubEvent]:
    """The newest ``limit`` published events (of ``name`` when given), oldest first."""
    found: list[HubEvent] = []
    with db.read() as conn:
        rows = conn.execute(
            select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload, outbox.c.created_at)
            .order_by(outbox.c.id.desc())
            .limit(max(limit * 20, 200))
        ).all()
    for row in rows:
        payload = dict(row.payload) if isinstance(row.payload, dict) else {}
        event_name = public_name(row.topic, payload)
        if event_name is None or (name is not None and event_name != name):
            continue
        event = describe(db, row.id, row.topic, row.key, payload, row.created_at)
        if event is not None:
            found.append(event)
        if len(found) >= limit:
            break
    return list(reversed(found))
