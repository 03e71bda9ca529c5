"""The order-import hook: every imported order's customer is resolved to a profile and the
order linked to it (``customer_order_links``).

It reads the outbox events the orders service records (``orders.status_changed`` with no
``from`` status: an order seen for the first time) after its own persisted position, in the
same way the sync dispatcher does: on PostgreSQL an outbox id can become visible after a higher
one, so skipped ids are remembered as gaps and looked for again for a while. Linking is
idempotent (an order already linked is skipped), so reading an event twice does no harm.
Run it from the worker loop or with ``channelhub customers link-orders``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from channelhub.core.database import Database, utcnow
from channelhub.core.events import OutboxCursor, outbox
from channelhub.customers import store
from channelhub.customers._sql import Sql
from channelhub.customers.identity import resolve_record, upsert
from channelhub.customers.model import Address, CustomerRecord
from channelhub.orders.service import OrderView, load_order

POSITION = "order_hook_position"
TOPIC = "orders.status_changed"
GAP_SECONDS = 300.0


def record_of_order(order: OrderView) -> CustomerRecord | None:
    """The customer record an order carries, or None when it names nobody."""
    customer: dict[str, Any] = order.customer or {}
    address: dict[str, Any] = order.shipping_address or order.billing_address or {}
    if not address.get("line1") and not address.get("postal_code"):
        address = order.billing_address or address
    email = str(customer.get("email") or "")
    phone = str(customer.get("phone") or "")
    name = str(customer.get("name") or address.get("name") or "")
    customer_id = str(customer.get("customer_id") or customer.get("id") or "")
    if not (email or phone or name or customer_id):
        return None
    return CustomerRecord(
        channel=order.channel,
        source_ref=f"order:{order.external_id}",
        email=email,
        phone=phone,
        name=name,
        customer_id=customer_id,
        country=str(address.get("country") or "")[:2],
        address=Address(
            line1=str(address.get("line1") or ""),
            line2=str(address.get("line2") or ""),
            postal_code=str(address.get("postal_code") or ""),
            city=str(address.get("city") or ""),
            country=str(address.get("country") or ""),
        ),
        observed_at=order.placed_at,
    )


def link_order(conn: Connection, order_id: int) -> int | None:
    """Resolve one order's customer and link the order to the profile; the profile id (None
    when the order names nobody). Linking an order twice keeps the first link."""
    sql = Sql(conn)
    linked = sql.scalar(
        "SELECT profile_id FROM customer_order_links WHERE order_id = ?", (order_id,)
    )
    if linked is not None:
        return int(linked)
    record = record_of_order(load_order(conn, order_id))
    if record is None:
        return None
    resolution = resolve_record(conn, record)
    sql.run(
        "INSERT INTO customer_order_links (order_id, profile_id, record_id, created_at) "
        "VALUES (?, ?, ?, ?)",
        (order_id, resolution.profile_id, resolution.record_id, sql.time(utcnow())),
    )
    return resolution.profile_id


def link_orders(db: Database, limit: int = 500) -> int:
    """Link the orders of the next outbox events after the hook's position; events read."""
    with db.transaction() as conn:
        value = _lock_position(conn)
        cursor = OutboxCursor.load(value)
        rows = conn.execute(
            select(outbox.c.id, outbox.c.topic, outbox.c.payload)
            .where(cursor.unread())
            .order_by(outbox.c.id)
            .limit(limit)
        ).all()
        if not rows:
            return 0
        for row in rows:
            payload = row.payload or {}
            if row.topic == TOPIC and payload.get("from") is None and payload.get("order_id"):
                link_order(conn, int(payload["order_id"]))
        cursor.advance([int(r.id) for r in rows], conn.dialect.name, GAP_SECONDS)
        upsert(
            conn,
            store.customer_settings,
            {"name": POSITION},
            {"value": cursor.stored()},
        )
        return len(rows)


def link_all_orders(db: Database, batch: int = 500) -> int:
    """Catch up with every event so far; the number of events read."""
    total = 0
    while True:
        done = link_orders(db, batch)
        total += done
        if done < batch:
            return total


def _lock_position(conn: Connection) -> dict[str, Any]:
    s = store.customer_settings.c
    query = select(s.value).where(s.name == POSITION)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    value = conn.execute(query).scalar()
    if value is None:
        upsert(
            conn,
            store.customer_settings,
            {"name": POSITION},
            {"value": {"position": 0, "gaps": {}}},
        )
        value = conn.execute(query).scalar()
    return dict(value or {})
